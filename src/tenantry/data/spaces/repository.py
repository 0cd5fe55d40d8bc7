"""SQL of spaces and their background images, in the caller's schema.

A space is read by one query: every column of `spaces` under its own name, and whether
it has a background (`COLUMNS`). The sessions run it, the hot reads send it to the driver
as compiled here, and writes return the same columns: a column added to the model is read
on every path with no other edit.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, exists, insert, select, tuple_, update

from tenantry.db.engine import Lanes
from tenantry.db.sessions import TenantSession, fetch_row, fetch_rows
from tenantry.db.statements import for_driver
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


async def add(session: TenantSession, values: dict[str, Any]) -> dict[str, Any]:
    """Insert a space; the space as `COLUMNS` reads it (a new one has no background)."""
    query = insert(SPACES).values(values).returning(*SPACES.columns)
    row = (await session.execute(query)).mappings().one()
    return {**row, "has_background": False}


async def change(
    session: TenantSession, space_id: uuid.UUID, values: dict[str, Any]
) -> dict[str, Any] | None:
    """Change a space's columns; the space after, or None if there is none."""
    query = update(SPACES).where(Space.space_id == space_id).values(values).returning(*COLUMNS)
    row = (await session.execute(query)).mappings().one_or_none()
    return dict(row) if row is not None else None


async def remove(session: TenantSession, space_id: uuid.UUID) -> bool:
    """Delete a space (its background goes with it); whether there was one."""
    query = delete(SPACES).where(Space.space_id == space_id).returning(Space.space_id)
    return (await session.execute(query)).first() is not None


async def background(session: TenantSession, space_id: uuid.UUID) -> SpaceBackground | None:
    return await session.get(SpaceBackground, space_id)
