"""SQL of databases, their schema names, and the counts kept in their schemas."""

from collections.abc import Sequence

from sqlalchemy import exists, func, select, update

from tenantry.db.sessions import ControlSession, TenantSession
from tenantry.models.control import Database, SchemaKind, TenantSchema
from tenantry.models.data import Counter

COUNTERS = ("rating", "user", "item")


async def names_taken(
    session: ControlSession, org_id: str, name: str, schema_name: str
) -> tuple[bool, bool]:
    """Whether the organization has a database `name`, and whether `schema_name` is used by
    a database or still present (a pool schema, one being dropped): one round trip."""
    name_used = exists().where(Database.org_id == org_id, Database.name == name)
    schema_used = exists().where(Database.schema_name == schema_name) | exists().where(
        TenantSchema.name == schema_name
    )
    row = (await session.execute(select(name_used, schema_used))).one()
    return bool(row[0]), bool(row[1])


async def page_of_org(
    session: ControlSession, org_id: str, *, offset: int, limit: int
) -> Sequence[Database]:
    query = (
        select(Database)
        .where(Database.org_id == org_id)
        .order_by(Database.created_at, Database.id)
        .offset(offset)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def get(session: ControlSession, database_id: str) -> Database | None:
    return await session.get(Database, database_id, populate_existing=True)


async def lock(session: ControlSession, database_id: str) -> Database | None:
    return await session.get(Database, database_id, with_for_update=True, populate_existing=True)


async def mark_schema_dropping(session: ControlSession, schema_name: str) -> None:
    await session.execute(
        update(TenantSchema)
        .where(TenantSchema.name == schema_name)
        .values(kind=SchemaKind.DROPPING, updated_at=func.now())
    )


async def count_rows(session: TenantSession) -> dict[str, int]:
    """Exact counts of a database's ratings, users and items: the sums of the slots of the
    `counters` table, which triggers keep as the writes happen (tenant migration 0003), so
    reading them costs a few rows however large the tables."""
    query = (
        select(Counter.name, func.sum(Counter.value))
        .where(Counter.name.in_(COUNTERS))
        .group_by(Counter.name)
    )
    sums = {name: int(total) for name, total in await session.execute(query)}
    return {name: sums.get(name, 0) for name in COUNTERS}
