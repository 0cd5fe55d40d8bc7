"""SQL of spaces and their background images, in the caller's schema.

A space is read by one query: every column of `spaces` under its own name, and whether
it has a background (`COLUMNS`). The sessions run it, the hot reads send it to the driver
as compiled here, and writes return the same columns: a column added to the model is read
on every path with no other edit.
"""

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Insert,
    Table,
    Update,
    bindparam,
    delete,
    exists,
    insert,
    select,
    tuple_,
    update,
)

from tenantry.db.engine import Lanes
from tenantry.db.sessions import TenantSession, fetch_row, fetch_rows
from tenantry.db.statements import DriverStatement, for_driver
from tenantry.models.data import Space, SpaceBackground

HAS_BACKGROUND = exists().where(SpaceBackground.space_id == Space.space_id).label("has_background")
SPACES: Table = Space.__table__  # type: ignore[assignment]  # declarative tables are Tables
COLUMNS = [*SPACES.columns, HAS_BACKGROUND]
READ = select(*COLUMNS)
BY_ID = READ.where(Space.space_id == bindparam("space_id"))
ORDER = (Space.created_at, Space.space_id)
FIRST = READ.order_by(*ORDER).limit(bindparam("limit"))
AFTER = FIRST.where(tuple_(*ORDER) > tuple_(bindparam("at"), bindparam("after")))
ONE_FOR_DRIVER, FIRST_FOR_DRIVER, AFTER_FOR_DRIVER = map(for_driver, (BY_ID, FIRST, AFTER))
REMOVE_FOR_DRIVER = for_driver(
    delete(SPACES).where(Space.space_id == bindparam("id")).returning(Space.space_id)
)


@cache
def _insert(columns: tuple[str, ...]) -> Insert:
    """Insert a space with these columns set, returning what `COLUMNS` reads but whether it
    has a background (a new one has none)."""
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in columns}
    return insert(SPACES).values(values).returning(*SPACES.columns)


@cache
def _update(columns: tuple[str, ...]) -> Update:
    """Change these columns of one space, returning `COLUMNS`."""
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in columns}
    return (
        update(SPACES).where(Space.space_id == bindparam("id")).values(values).returning(*COLUMNS)
    )


@cache
def _for_driver(query: Insert | Update) -> DriverStatement:
    return for_driver(query)


def _new(values: dict[str, Any]) -> dict[str, Any]:
    return {f"new_{name}": value for name, value in values.items()}


async def get(session: TenantSession, space_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await session.execute(BY_ID, {"space_id": space_id})).mappings().one_or_none()
    return dict(row) if row is not None else None


async def one(lanes: Lanes, schema: str, space_id: uuid.UUID) -> Any:
    """One space of `schema` as a driver row, or None: a single round trip."""
    statement = ONE_FOR_DRIVER
    return await fetch_row(lanes, statement.sql, schema, *statement.arguments(space_id=space_id))


async def rows_after(
    lanes: Lanes, schema: str, key: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Any]:
    """Up to `limit` spaces of `schema` after `key`, as driver rows: a single round trip."""
    if key is None:
        first = FIRST_FOR_DRIVER
        return await fetch_rows(lanes, first.sql, schema, *first.arguments(limit=limit))
    at, after = key
    statement = AFTER_FOR_DRIVER
    arguments = statement.arguments(limit=limit, at=at, after=after)
    return await fetch_rows(lanes, statement.sql, schema, *arguments)


async def change_row(lanes: Lanes, schema: str, space_id: uuid.UUID, values: dict[str, Any]) -> Any:
    """Change a space's columns (one statement); the space after, or None if there is none."""
    statement = _for_driver(_update(tuple(values)))
    arguments = statement.arguments(id=space_id, **_new(values))
    return await fetch_row(lanes, statement.sql, schema, *arguments)


async def remove_row(lanes: Lanes, schema: str, space_id: uuid.UUID) -> bool:
    """Delete a space (one statement; its background goes with it); whether there was one."""
    statement = REMOVE_FOR_DRIVER
    return (
        await fetch_row(lanes, statement.sql, schema, *statement.arguments(id=space_id)) is not None
    )


async def add(session: TenantSession, values: dict[str, Any]) -> dict[str, Any]:
    """Insert a space in a session's transaction (the lean create is `idempotency.made_once`);
    the space as `COLUMNS` reads it."""
    row = (await session.execute(_insert(tuple(values)), _new(values))).mappings().one()
    return {**row, "has_background": False}


async def change(
    session: TenantSession, space_id: uuid.UUID, values: dict[str, Any]
) -> dict[str, Any] | None:
    """`change_row` in a session's transaction."""
    query, arguments = _update(tuple(values)), {"id": space_id, **_new(values)}
    row = (await session.execute(query, arguments)).mappings().one_or_none()
    return dict(row) if row is not None else None


async def touch(session: TenantSession, space_id: uuid.UUID) -> dict[str, Any] | None:
    """Mark a space changed (its background was): `updated_at` set by the update alone."""
    return await change(session, space_id, {})


async def background(session: TenantSession, space_id: uuid.UUID) -> SpaceBackground | None:
    return await session.get(SpaceBackground, space_id)
