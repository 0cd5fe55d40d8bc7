"""SQL of items and users, in the caller's schema. Both tables are `(id, properties)`;
bulk statements take their rows as arrays, one statement per call."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, Table, bindparam, delete, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.types import LargeBinary, TypeEngine

from tenantry.db.sessions import TenantSession


def array(values: Sequence[Any], item_type: TypeEngine[Any]) -> BindParameter[Any]:
    """`values` as one typed array parameter, for `unnest`."""
    return bindparam(None, list(values), type_=ARRAY(item_type))


def _id(table: Table) -> Any:
    return table.primary_key.columns.values()[0]


async def upsert(
    session: TenantSession, table: Table, keys: Sequence[bytes], properties: Sequence[Any]
) -> None:
    """Insert the rows, or replace the properties of those that exist. `keys` are unique."""
    rows = (
        func.unnest(array(keys, LargeBinary()), array(properties, JSONB()))
        .table_valued("id", "properties")
        .render_derived()
    )
    statement = insert(table).from_select(
        [_id(table).name, "properties"], select(rows.c.id, rows.c.properties)
    )
    statement = statement.on_conflict_do_update(
        index_elements=[_id(table)], set_={"properties": statement.excluded.properties}
    )
    await session.execute(statement)


async def properties(session: TenantSession, table: Table, key: bytes) -> Any:
    """The properties of one row, or None."""
    return await session.scalar(select(table.c.properties).where(_id(table) == key))


async def remove(session: TenantSession, table: Table, key: bytes) -> bool:
    """Delete one row (and its ratings); whether it was there."""
    result = await session.execute(delete(table).where(_id(table) == key).returning(_id(table)))
    return result.first() is not None


async def after(
    session: TenantSession, table: Table, key: bytes | None, limit: int
) -> list[tuple[bytes, Any]]:
    """Up to `limit` rows after `key`, in the order of their ids."""
    query = select(_id(table), table.c.properties).order_by(_id(table)).limit(limit)
    if key is not None:
        query = query.where(_id(table) > key)
    return [(row[0], row[1]) for row in await session.execute(query)]


async def present(session: TenantSession, table: Table, key: bytes) -> bool:
    found = await session.scalar(select(exists().where(_id(table) == key)))
    return bool(found)


async def missing(
    session: TenantSession, table: Table, keys: Sequence[bytes], limit: int
) -> list[bytes]:
    """Up to `limit` of `keys` that have no row."""
    wanted = func.unnest(array(keys, LargeBinary())).table_valued("id").render_derived()
    query = (
        select(wanted.c.id)
        .where(~exists().where(_id(table) == wanted.c.id))
        .order_by(wanted.c.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
