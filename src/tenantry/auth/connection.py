"""The request's connection, chosen from who the caller is: caller → database → connection.

The lane of the caller's database (its schema's share of the data plane's connections),
or the control plane's pool for a caller with no database. A dependency of the caller, so
no connection can be taken before the caller is known; control-plane and data-plane
sessions of one request share it, and commit together, before the response is sent.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantry.audit import Actor, watch
from tenantry.auth.context import AuthContext, Caller
from tenantry.db.engine import Lanes
from tenantry.db.sessions import ControlSession, control_session, request_transaction


async def _request_connection(request: Request, caller: Caller) -> AsyncIterator[AsyncConnection]:
    if caller.database is None:
        engine: AsyncEngine = request.app.state.engine
        control = True
    else:
        lanes: Lanes = request.app.state.lanes
        engine, control = lanes.of(caller.database.schema_name), False
    async with request_transaction(request, engine, control=control) as connection:
        yield connection


RequestConnection = Annotated[AsyncConnection, Depends(_request_connection, scope="function")]


def actor(request: Request, caller: AuthContext, channel: str = "api") -> Actor:
    """`caller` as the audit trail names it: the account behind it, its key, its address."""
    return Actor(
        channel=channel,
        org_id=caller.org_id,
        account_id=caller.acting_account_id,
        api_key_id=caller.api_key_id,
        address=request.client.host if request.client else None,
    )


async def _control_session(
    connection: RequestConnection, caller: Caller, request: Request
) -> AsyncIterator[ControlSession]:
    """The request's control-plane session: its changes are audited as the caller's."""
    async with control_session(connection) as session:
        if request.app.state.settings.audit:
            watch(session, actor(request, caller))
        yield session


ControlDB = Annotated[ControlSession, Depends(_control_session, scope="function")]
