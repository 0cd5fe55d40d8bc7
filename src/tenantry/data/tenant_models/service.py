"""Tenant models of the caller's database. Services never commit."""

import uuid
from typing import Any

from tenantry.data.common import add
from tenantry.data.pagination import Cursors, Meta, page_of
from tenantry.data.tenant_models import repository
from tenantry.db.sessions import TenantSession
from tenantry.errors import NotFound
from tenantry.models.data import TenantModel

SCOPE = "tenant_models"


class TenantModelNotFound(NotFound):
    code = "TENANT_MODEL_NOT_FOUND"
    default_detail = "No tenant model of this database has this id."


async def page(
    session: TenantSession, cursors: Cursors, *, cursor: str | None, limit: int
) -> tuple[list[TenantModel], Meta]:
    key = cursors.decode(SCOPE, cursor, uuid.UUID)
    rows = await repository.page(session, key, limit + 1)
    return page_of(rows, limit, SCOPE, cursors, lambda m: (m.created_at, m.tenant_model_id))


async def get(session: TenantSession, tenant_model_id: uuid.UUID) -> TenantModel:
    model = await repository.get(session, tenant_model_id)
    if model is None:
        raise TenantModelNotFound
    return model


async def create(session: TenantSession, values: dict[str, Any]) -> TenantModel:
    return await add(session, TenantModel(**values))


async def update(
    session: TenantSession, tenant_model_id: uuid.UUID, changes: dict[str, Any]
) -> TenantModel:
    model = await get(session, tenant_model_id)
    for field, value in changes.items():
        setattr(model, field, value)
    await session.flush()
    await session.refresh(model)
    return model


async def delete(session: TenantSession, tenant_model_id: uuid.UUID) -> None:
    await session.delete(await get(session, tenant_model_id))
    await session.flush()
