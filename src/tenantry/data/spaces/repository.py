"""SQL of spaces and their background images, in the caller's schema."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, select

from tenantry.data.models import Space, SpaceBackground
from tenantry.db.engine import Lanes
from tenantry.db.sessions import TenantSession, fetch_row, fetch_rows

HAS_BACKGROUND = exists().where(SpaceBackground.space_id == Space.space_id).label("has_background")


async def get(session: TenantSession, space_id: uuid.UUID) -> Row[Space, bool] | None:
    query = select(Space, HAS_BACKGROUND).where(Space.space_id == space_id)
    return (await session.execute(query)).one_or_none()


COLUMNS = """
    s.space_id, s.name, s.description, s.metadata, s.created_at, s.updated_at,
    EXISTS (SELECT FROM {schema}.space_backgrounds b WHERE b.space_id = s.space_id)
        AS has_background
"""
# {schema} is filled in by `in_schema`, which quotes a validated name: no input reaches it.
ONE = f"SELECT {COLUMNS} FROM {{schema}}.spaces s WHERE s.space_id = $1"  # noqa: S608
FIRST = f"SELECT {COLUMNS} FROM {{schema}}.spaces s ORDER BY s.created_at, s.space_id LIMIT $1"  # noqa: S608
AFTER = f"""
    SELECT {COLUMNS} FROM {{schema}}.spaces s WHERE (s.created_at, s.space_id) > ($2, $3)
    ORDER BY s.created_at, s.space_id LIMIT $1
"""  # noqa: S608


async def one(lanes: Lanes, schema: str, space_id: uuid.UUID) -> Any:
    """One space of `schema` as a driver row, or None: a single round trip."""
    return await fetch_row(lanes, ONE, schema, space_id)


async def rows_after(
    lanes: Lanes, schema: str, key: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Any]:
    """Up to `limit` spaces of `schema` after `key`, as driver rows: a single round trip."""
    if key is None:
        return await fetch_rows(lanes, FIRST, schema, limit)
    return await fetch_rows(lanes, AFTER, schema, limit, *key)


async def background(session: TenantSession, space_id: uuid.UUID) -> SpaceBackground | None:
    return await session.get(SpaceBackground, space_id)
