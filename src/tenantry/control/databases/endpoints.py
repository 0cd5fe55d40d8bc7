"""Databases of the caller's organization, as the databases API documents them."""

from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.auth.connection import ControlDB, RequestConnection
from tenantry.auth.context import AuthContext, BackendOrAbove, RootOrManager, forget
from tenantry.control.databases import service
from tenantry.control.databases.schemas import (
    Counters,
    DatabaseCreate,
    DatabaseCreated,
    DatabasePage,
    DatabasePreview,
    DatabaseRead,
    DatabaseStatusRead,
    DatabaseUpdate,
    summary,
)
from tenantry.control.provisioning.worker import wake_after_commit
from tenantry.data.access import data_schema
from tenantry.db.sessions import bound_session
from tenantry.errors import TenantryError, ValidationFailed
from tenantry.kernel.enums import DatabaseStatus
from tenantry.kernel.versions import V1
from tenantry.models.control import Database
from tenantry.routing import Router

router = Router(prefix=f"{V1}/databases", tags=["databases"])
MAX_PAGE = 1_000_000


@router.post("/", status_code=201)
async def create_database(
    body: DatabaseCreate, caller: RootOrManager, session: ControlDB, request: Request
) -> DatabaseCreated:
    """Create a database; it is `pending` until its schema is ready."""
    assert caller.org_id is not None
    wake_after_commit(request)
    database = await service.create(
        session,
        org_id=caller.org_id,
        name=body.name,
        description=body.description,
        item_id_type=body.item_id_type,
        user_id_type=body.user_id_type,
        session_id_type=body.session_id_type,
        livemode=body.livemode,
        core_config=body.core_config,
        metadata=body.metadata,
    )
    return DatabaseCreated(id=database.id)


async def _only_page_parameters(request: Request) -> None:
    """The list takes `amt` and `page`; any other query parameter is refused, not ignored."""
    unknown = sorted(set(request.query_params) - {"amt", "page"})
    if unknown:
        errors = {name: ["Not a parameter of this list."] for name in unknown}
        raise ValidationFailed(f"Not valid: {', '.join(unknown)}.", errors=errors)


@router.get("/", dependencies=[Depends(_only_page_parameters)])
async def list_databases(
    caller: BackendOrAbove,
    session: ControlDB,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page to be listed.")] = 1,
    amt: Annotated[int, Query(ge=1, le=64, description="Amount of databases to return.")] = 64,
) -> DatabasePage:
    """List the organization's databases, a page at a time."""
    assert caller.org_id is not None
    databases, has_next = await service.page(session, caller.org_id, page=page, amount=amt)
    items = [item for item in map(summary, databases) if item is not None]
    return DatabasePage(has_next=has_next, next_page=page + 1, databases=items)


async def _counters(connection: AsyncConnection, caller: AuthContext) -> Counters:
    try:
        schema = data_schema(caller, write=False)
    except TenantryError as error:
        return Counters(rating=0, user=0, item=0, warnings=[f"Counters unavailable: {error}"])
    async with bound_session(connection, schema) as tenant:
        return Counters(**await service.counts(tenant))


def _read(database: Database, counters: Counters) -> DatabaseRead:
    return DatabaseRead.model_validate(
        {**database.__dict__, "counters": counters}, from_attributes=False
    )


@router.get("/current/")
async def get_current_database(
    caller: BackendOrAbove, session: ControlDB, connection: RequestConnection
) -> DatabaseRead:
    """The database you are logged to, with its counters and metadata."""
    database = await service.current(session, caller)
    return _read(database, await _counters(connection, caller))


@router.patch("/current/")
async def update_current_database(
    body: DatabaseUpdate, caller: RootOrManager, session: ControlDB, connection: RequestConnection
) -> DatabaseRead:
    """Change the description; merge core_config and metadata (RFC 7396)."""
    database = await service.update(
        session,
        caller,
        description=body.description,
        core_config=body.core_config,
        metadata=body.metadata,
        preserve=body.preserve,
    )
    return _read(database, await _counters(connection, caller))


@router.patch("/current/preview/")
async def preview_current_database_update(
    body: DatabaseUpdate, caller: RootOrManager, session: ControlDB
) -> DatabasePreview:
    """What the same PATCH of `current/` would make of the description, core_config and
    metadata; changes nothing."""
    old, new = await service.preview(
        session,
        caller,
        description=body.description,
        core_config=body.core_config,
        metadata=body.metadata,
        preserve=body.preserve,
    )
    return DatabasePreview.model_validate({"metadata_old": old, "metadata_new": new})


@router.delete("/current/", status_code=204)
async def delete_current_database(
    caller: RootOrManager, session: ControlDB, request: Request
) -> None:
    """Delete the database you are logged to, with all its data. This cannot be undone."""
    database = await service.current(session, caller, lock=True)
    await service.delete(session, database)
    forget(request, database.id)


@router.get("/current/status/")
async def get_current_database_status(
    caller: BackendOrAbove, session: ControlDB
) -> DatabaseStatusRead:
    """`pending` until the database's schema is ready; `failed` with a reason."""
    database = await service.current(session, caller)
    if database.status == DatabaseStatus.FAILED:
        reason = database.failure_reason or "Provisioning failed."
        return DatabaseStatusRead(status=database.status, failure_reason=reason, warnings=[reason])
    return DatabaseStatusRead(status=database.status)
