"""Databases of an organization: create (from the warm pool, or queued for provisioning),
list, read, update, delete (the schema is dropped by a job). Services never commit."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from tenantry.auth.context import AuthContext
from tenantry.auth.errors import NoDatabaseSelected
from tenantry.control.databases import repository
from tenantry.control.provisioning.repository import add_job
from tenantry.control.provisioning.service import take_pooled
from tenantry.db import schema_names
from tenantry.db.migrate import driver_connection
from tenantry.db.sessions import ControlSession, TenantSession
from tenantry.errors import Conflict, NotFound
from tenantry.ids import new_id
from tenantry.kernel.enums import DatabaseStatus
from tenantry.models.control import Database, JobKind

SCHEMA_NAME_ATTEMPTS = 20


class DuplicatedDatabaseName(Conflict):
    status = 400
    code = "DUPLICATED_DB_NAME"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The db-metadata {name} is duplicated",
            errors={"name": ["A database of your organization already has this name."]},
            data={"type": "db-metadata", "key": name},
        )


class DatabaseNotFound(NotFound):
    code = "DATABASE_NOT_FOUND"
    default_detail = "The database no longer exists."


async def _check_names(session: ControlSession, org_id: str, name: str, base: str) -> str:
    """Refuse a duplicate name; return a schema name no one uses."""
    for _ in range(SCHEMA_NAME_ATTEMPTS):
        schema_name = schema_names.make(base)
        name_taken, schema_taken = await repository.names_taken(session, org_id, name, schema_name)
        if name_taken:
            raise DuplicatedDatabaseName(name)
        if not schema_taken:
            return schema_name
    raise Conflict("No free schema name was found; retry.")


async def create(
    session: ControlSession,
    *,
    org_id: str,
    name: str,
    description: str = "",
    item_id_type: str = "uuid",
    user_id_type: str = "uuid",
    session_id_type: str = "uuid",
    livemode: bool = False,
    core_config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    schema_base: str | None = None,
) -> Database:
    """Add a database: `ready` at once when the warm pool has a current schema to rename
    to it, else `pending` with its provisioning queued."""
    schema_name = await _check_names(session, org_id, name, schema_base or name)
    driver = await driver_connection(await session.connection())
    ready = await take_pooled(driver, schema_name)
    database = Database(
        status=DatabaseStatus.READY if ready else DatabaseStatus.PENDING,
        id=new_id(),
        org_id=org_id,
        name=name,
        description=description,
        schema_name=schema_name,
        item_id_type=item_id_type,
        user_id_type=user_id_type,
        session_id_type=session_id_type,
        livemode=livemode,
        core_config=core_config or {},
        extra=metadata or {},
    )
    session.add(database)
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent create took the name; all rolls back
        raise DuplicatedDatabaseName(name) from error
    if not ready:
        await add_job(session, JobKind.PROVISION, database.schema_name, database.id)
    return database


async def page(
    session: ControlSession, org_id: str, *, page: int, amount: int
) -> tuple[Sequence[Database], bool]:
    """One page of the organization's databases, oldest first, and whether more follow."""
    rows = await repository.page_of_org(
        session, org_id, offset=(page - 1) * amount, limit=amount + 1
    )
    return rows[:amount], len(rows) > amount


def current_id(caller: AuthContext) -> str:
    if caller.database is None:
        raise NoDatabaseSelected
    return caller.database.id


async def current(session: ControlSession, caller: AuthContext, *, lock: bool = False) -> Database:
    find = repository.lock if lock else repository.get
    database = await find(session, current_id(caller))
    if database is None or database.org_id != caller.org_id:
        raise DatabaseNotFound
    return database


def merge_patch(target: Any, patch: Any, *, preserve: bool = False) -> Any:
    """RFC 7396 merge patch; with `preserve`, a list in the patch extends the target's list."""
    if isinstance(patch, list) and isinstance(target, list) and preserve:
        return target + patch
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value, preserve=preserve)
    return merged


async def update(
    session: ControlSession,
    caller: AuthContext,
    *,
    description: str | None,
    core_config: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    preserve: bool,
) -> Database:
    database = await current(session, caller, lock=True)
    if description is not None:
        database.description = description
    if core_config is not None:
        database.core_config = merge_patch(database.core_config, core_config, preserve=preserve)
    if metadata is not None:
        database.extra = merge_patch(database.extra, metadata, preserve=preserve)
    await session.flush()
    return database


def editable(database: Database) -> dict[str, Any]:
    """What a PATCH of the database may change, as its preview shows it."""
    return {
        "description": database.description,
        "core_config": database.core_config,
        "metadata": database.extra,
    }


async def preview(
    session: ControlSession,
    caller: AuthContext,
    *,
    description: str | None,
    core_config: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    preserve: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What `update` would make of the database (description, core_config, metadata),
    changing nothing."""
    database = await current(session, caller)
    old = editable(database)
    new = dict(old)
    if description is not None:
        new["description"] = description
    if core_config is not None:
        new["core_config"] = merge_patch(old["core_config"], core_config, preserve=preserve)
    if metadata is not None:
        new["metadata"] = merge_patch(old["metadata"], metadata, preserve=preserve)
    return old, new


async def delete(session: ControlSession, database: Database) -> None:
    """Remove the database at once (its keys, tokens and jobs go with it); drop its schema
    in a job."""
    await session.delete(database)
    await session.flush()
    await repository.mark_schema_dropping(session, database.schema_name)
    await add_job(session, JobKind.DROP, database.schema_name)


async def counts(tenant: TenantSession) -> dict[str, int]:
    """How many ratings, users and items the database of `tenant` holds."""
    return await repository.count_rows(tenant)
