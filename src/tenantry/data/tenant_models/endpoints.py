"""Tenant models, as the tenant models API documents them."""

import uuid

from fastapi import Response

from tenantry.data.access import DataReader, DataWriter
from tenantry.data.pagination import Cursor, Limit, Signer
from tenantry.data.tenant_models import service
from tenantry.data.tenant_models.schemas import (
    TenantModelCreate,
    TenantModelPage,
    TenantModelRead,
    TenantModelUpdate,
)
from tenantry.idempotency import IdempotencyRequired
from tenantry.kernel.versions import V1
from tenantry.routing import Router

router = Router(prefix=f"{V1}/tenant/models", tags=["tenant models"])


@router.get("")
async def list_tenant_models(
    session: DataReader, signer: Signer, limit: Limit = 20, cursor: Cursor = None
) -> TenantModelPage:
    """List tenant models, oldest first, a page at a time."""
    rows, meta = await service.page(session, signer, cursor=cursor, limit=limit)
    return TenantModelPage(data=[TenantModelRead.model_validate(row) for row in rows], meta=meta)


@router.post("", status_code=201, response_model=TenantModelRead)
async def create_tenant_model(
    body: TenantModelCreate, session: DataWriter, idempotency: IdempotencyRequired
) -> Response:
    """Create a tenant model; the Idempotency-Key makes retries safe."""
    model = await service.create(session, body.model_dump())
    return await idempotency.respond(201, TenantModelRead.model_validate(model))


@router.get("/{tenant_model_id}")
async def get_tenant_model(tenant_model_id: uuid.UUID, session: DataReader) -> TenantModelRead:
    """One tenant model."""
    return TenantModelRead.model_validate(await service.get(session, tenant_model_id))


@router.patch("/{tenant_model_id}")
async def update_tenant_model(
    tenant_model_id: uuid.UUID, body: TenantModelUpdate, session: DataWriter
) -> TenantModelRead:
    """Change the fields sent; the others stay."""
    changes = body.model_dump(exclude_unset=True)
    model = await service.update(session, tenant_model_id, changes)
    return TenantModelRead.model_validate(model)


@router.delete("/{tenant_model_id}", status_code=204)
async def delete_tenant_model(tenant_model_id: uuid.UUID, session: DataWriter) -> None:
    """Delete a tenant model."""
    await service.delete(session, tenant_model_id)
