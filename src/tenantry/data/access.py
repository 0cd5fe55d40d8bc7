"""The data plane's session for a request: which schema the caller may read or write.

Fails closed: a database that is not ready, or whose schema is not at this server's tenant
revision, is an error, never a fall-through to the template. Callers without credentials
read the template and may not write it.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends

from tenantry.auth.connection import RequestConnection
from tenantry.auth.context import AuthContext, Caller, DatabaseRef
from tenantry.auth.errors import (
    DatabaseNotReady,
    NoDatabaseSelected,
    PublicSchemaReadOnly,
    RoleForbidden,
)
from tenantry.db.base import TEMPLATE_SCHEMA
from tenantry.db.migrate import head
from tenantry.db.sessions import TenantSession, bound_session
from tenantry.errors import Conflict
from tenantry.kernel.enums import DatabaseStatus, Role


class SchemaNotAtHead(Conflict):
    code = "SCHEMA_MIGRATION_PENDING"
    error_code = 1
    error_name = "ServerUnavailable"
    default_detail = (
        "This database's schema is not at the server's migration yet; retry after "
        "`tenantry migrate` has run."
    )


def data_schema(context: AuthContext, *, write: bool, own: bool = False) -> str:
    """The schema `context` may read (or write, when `write`: a frontend login writes only
    what is its own, `own`, its user's or session's at `~me`)."""
    if context.anonymous:
        if write:
            raise PublicSchemaReadOnly
        return TEMPLATE_SCHEMA
    if context.database is None:
        raise NoDatabaseSelected
    schema = ready_schema(context.database)
    if write and context.role == Role.FRONTEND and not own:
        raise RoleForbidden(
            "The frontend role reads data, and writes only its own user's ratings and "
            "interactions and its own session's interactions, at `~me`."
        )
    return schema


def ready_schema(database: DatabaseRef) -> str:
    """The schema of `database`, which must be ready and at this server's tenant revision."""
    if database.status != DatabaseStatus.READY:
        detail = f"The database is {database.status}; see GET /v1/databases/current/status/."
        raise DatabaseNotReady(detail)
    if database.schema_version != head("tenant"):
        raise SchemaNotAtHead
    return database.schema_name


async def _read_schema(context: Caller) -> str:
    return data_schema(context, write=False)


async def _write_schema(context: Caller) -> str:
    return data_schema(context, write=True)


async def _reader(context: Caller, connection: RequestConnection) -> AsyncIterator[TenantSession]:
    async with bound_session(connection, data_schema(context, write=False)) as session:
        yield session


async def _writer(context: Caller, connection: RequestConnection) -> AsyncIterator[TenantSession]:
    async with bound_session(connection, data_schema(context, write=True)) as session:
        yield session


ReadSchema = Annotated[str, Depends(_read_schema)]
"""The schema a caller reads, for statements that need no session (`fetch_row`)."""
WriteSchema = Annotated[str, Depends(_write_schema)]
"""The schema a caller writes, for the lean writes on the driver (`Lanes.run`)."""
DataReader = Annotated[TenantSession, Depends(_reader, scope="function")]
DataWriter = Annotated[TenantSession, Depends(_writer, scope="function")]


async def _livemode(context: Caller) -> bool:
    return context.database is not None and context.database.livemode


Livemode = Annotated[bool, Depends(_livemode)]
"""The `livemode` of the caller's database (false for the template)."""
