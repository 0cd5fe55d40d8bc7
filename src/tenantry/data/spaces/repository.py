"""SQL of spaces and their background images, in the caller's schema."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, exists, select

from tenantry.data.models import Space, SpaceBackground
from tenantry.data.pagination import after
from tenantry.db.sessions import TenantSession

HAS_BACKGROUND = exists().where(SpaceBackground.space_id == Space.space_id).label("has_background")


async def page(
    session: TenantSession, key: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[Row[Space, bool]]:
    query = after(select(Space, HAS_BACKGROUND), Space.created_at, Space.space_id, key)
    return (await session.execute(query.limit(limit))).all()


async def get(session: TenantSession, space_id: uuid.UUID) -> Row[Space, bool] | None:
    query = select(Space, HAS_BACKGROUND).where(Space.space_id == space_id)
    return (await session.execute(query)).one_or_none()


async def background(session: TenantSession, space_id: uuid.UUID) -> SpaceBackground | None:
    return await session.get(SpaceBackground, space_id)
