"""The caller's id types for the routes of anonymous sessions: items, users and sessions."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from tenantry.auth.connection import ControlDB
from tenantry.auth.context import Caller
from tenantry.data.catalog.ids import Ids
from tenantry.data.flexible_ids import IdCodec, codec
from tenantry.data.interactions import repository

DEFAULT_SESSION_ID_TYPE = "uuid"  # the databases API's default


@dataclass(frozen=True)
class SessionIdCodecs:
    item: IdCodec
    user: IdCodec
    session: IdCodec


async def _session_id_codecs(ids: Ids, caller: Caller, control: ControlDB) -> SessionIdCodecs:
    """`Ids` (which refuses callers without a database) and the database's session id type,
    read from the control plane on the request's connection: credentials do not carry it."""
    assert caller.database is not None
    type_name = await repository.session_id_type(control, caller.database.id)
    return SessionIdCodecs(ids.item, ids.user, codec(type_name or DEFAULT_SESSION_ID_TYPE))


SessionIds = Annotated[SessionIdCodecs, Depends(_session_id_codecs)]
