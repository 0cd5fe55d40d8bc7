"""SQL of spaces and their background images, in the caller's schema."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.data.models import Space, SpaceBackground
from tenantry.data.pagination import after
from tenantry.db.sessions import TenantSession, fetch_row

HAS_BACKGROUND = exists().where(SpaceBackground.space_id == Space.space_id).label("has_background")


async def page(
    session: TenantSession, key: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[Row[Space, bool]]:
    query = after(select(Space, HAS_BACKGROUND), Space.created_at, Space.space_id, key)
    return (await session.execute(query.limit(limit))).all()


async def get(session: TenantSession, space_id: uuid.UUID) -> Row[Space, bool] | None:
    query = select(Space, HAS_BACKGROUND).where(Space.space_id == space_id)
    return (await session.execute(query)).one_or_none()


ONE = """
    SELECT s.space_id, s.name, s.description, s.metadata, s.created_at, s.updated_at,
           EXISTS (SELECT FROM {schema}.space_backgrounds b WHERE b.space_id = s.space_id)
               AS has_background
    FROM {schema}.spaces s WHERE s.space_id = $1
"""


async def one(engine: AsyncEngine, schema: str, space_id: uuid.UUID) -> Any:
    """One space of `schema` as a driver row, or None: a single round trip."""
    return await fetch_row(engine, ONE, schema, space_id)


async def background(session: TenantSession, space_id: uuid.UUID) -> SpaceBackground | None:
    return await session.get(SpaceBackground, space_id)
