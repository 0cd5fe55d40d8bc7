"""SQL of items and users, in the caller's schema. Both tables are `(id, properties)`;
bulk statements take their rows as arrays, one statement per call. Their declared
properties are `(property_name, value_type, repeated, indexed)` rows."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    Row,
    Table,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.types import LargeBinary, Text, TypeEngine

from tenantry.db.sessions import TenantSession
from tenantry.models.data import Interaction, Rating, ResolvedSession


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
    """Delete one row (not its ratings); whether it was there."""
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


def _rows(keys: Sequence[bytes], properties: Sequence[Any]) -> Any:
    return (
        func.unnest(array(keys, LargeBinary()), array(properties, JSONB()))
        .table_valued("id", "properties")
        .render_derived()
    )


async def insert_missing(
    session: TenantSession, table: Table, keys: Sequence[bytes], properties: Sequence[Any]
) -> list[bytes]:
    """Insert the rows whose id is not there yet; the ids inserted. `keys` are unique."""
    rows = _rows(keys, properties)
    statement = (
        insert(table)
        .from_select([_id(table).name, "properties"], select(rows.c.id, rows.c.properties))
        .on_conflict_do_nothing(index_elements=[_id(table)])
        .returning(_id(table))
    )
    return list((await session.scalars(statement)).all())


async def merge(
    session: TenantSession, table: Table, keys: Sequence[bytes], patches: Sequence[Any]
) -> None:
    """Merge each patch into the properties of its row: a key set to null is removed, the
    others replace or add theirs. `keys` are unique; rows that are not there are skipped."""
    rows = _rows(keys, patches)
    each = func.jsonb_each(rows.c.properties).table_valued("key", "value")
    nulls = select(func.array_agg(each.c.key)).where(func.jsonb_typeof(each.c.value) == "null")
    removed = func.coalesce(nulls.scalar_subquery(), cast([], ARRAY(Text())))
    merged = table.c.properties.op("||")(rows.c.properties).op("-")(removed)
    await session.execute(update(table).where(_id(table) == rows.c.id).values(properties=merged))


async def listed(
    session: TenantSession, table: Table, keys: Sequence[bytes]
) -> list[tuple[bytes, Any]]:
    """The rows of these ids that exist, in the order of their ids."""
    query = (
        select(_id(table), table.c.properties)
        .where(_id(table) == func.any(array(keys, LargeBinary())))
        .order_by(_id(table))
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def remove_many(session: TenantSession, table: Table, keys: Sequence[bytes]) -> None:
    """Delete the rows of these ids that exist (not their ratings)."""
    await session.execute(delete(table).where(_id(table) == func.any(array(keys, LargeBinary()))))


async def strip(session: TenantSession, table: Table, name: str) -> None:
    """Remove the property `name` from every row that has it."""
    statement = (
        update(table)
        .where(table.c.properties.has_key(name))
        .values(properties=table.c.properties.op("-")(literal(name, Text())))
    )
    await session.execute(statement)


async def declarations(session: TenantSession, table: Table) -> list[Row[Any]]:
    """Every declared property, by name."""
    return list((await session.execute(select(table).order_by(table.c.property_name))).all())


async def declaration(session: TenantSession, table: Table, name: str) -> Row[Any] | None:
    query = select(table).where(table.c.property_name == name)
    return (await session.execute(query)).first()


async def declare(session: TenantSession, table: Table, values: dict[str, Any]) -> bool:
    """Insert the declaration; False when the name is taken."""
    statement = (
        insert(table)
        .values(values)
        .on_conflict_do_nothing(index_elements=[table.c.property_name])
        .returning(table.c.property_name)
    )
    return (await session.scalar(statement)) is not None


async def undeclare(session: TenantSession, table: Table, name: str) -> bool:
    statement = delete(table).where(table.c.property_name == name).returning(table.c.property_name)
    return (await session.scalar(statement)) is not None


async def remove_history_of_user(session: TenantSession, key: bytes) -> bool:
    """Delete a user's ratings, interactions and resolved sessions; whether there was one."""
    found = False
    for model in (Rating, Interaction, ResolvedSession):
        statement = delete(model).where(model.user_id == key).returning(model.user_id)
        found = (await session.execute(statement)).first() is not None or found
    return found
