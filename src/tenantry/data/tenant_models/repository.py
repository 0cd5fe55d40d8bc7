"""SQL of tenant models, in the caller's schema."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from tenantry.data.pagination import after
from tenantry.db.sessions import TenantSession
from tenantry.models.data import TenantModel


async def page(
    session: TenantSession, key: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[TenantModel]:
    query = after(select(TenantModel), TenantModel.created_at, TenantModel.tenant_model_id, key)
    return (await session.scalars(query.limit(limit))).all()


async def get(session: TenantSession, tenant_model_id: uuid.UUID) -> TenantModel | None:
    return await session.get(TenantModel, tenant_model_id)
