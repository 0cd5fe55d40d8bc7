"""Documents and their tenant ids, as the documents API (version 2024-11-04) has them:
every success is a 200, and every object carries the `livemode` of the caller's database."""

from typing import Annotated

from fastapi import Path, Request, Response

from tenantry.data.access import DataReader, DataWriter, Livemode, ReadSchema
from tenantry.data.documents import service
from tenantry.data.documents.schemas import (
    ID_PATTERN,
    BrowseRequest,
    DocumentCreate,
    DocumentDeleted,
    DocumentPage,
    DocumentRead,
    DocumentUpdate,
    ListTenantIds,
    TenantIdsResult,
)
from tenantry.idempotency import IdempotencyOptional
from tenantry.kernel.versions import V20241104
from tenantry.routing import Router, hot

router = Router(prefix=V20241104, tags=["documents"])


DocumentId = Annotated[str, Path(pattern=ID_PATTERN, description="The document's id.")]


@router.post("/documents/browse")
async def browse_documents(
    body: BrowseRequest, session: DataReader, livemode: Livemode
) -> DocumentPage:
    """List documents, oldest first, a page at a time (`page`, from `next_page`)."""
    return await service.browse(session, body, livemode=livemode)


@router.post("/documents", response_model=DocumentRead)
async def add_document(
    body: DocumentCreate,
    session: DataWriter,
    idempotency: IdempotencyOptional,
    livemode: Livemode,
) -> Response:
    """Add a document; an `id` already used gives 409."""
    document = await service.add(session, body.model_dump(), livemode=livemode)
    return await idempotency.respond(200, document)


@router.get("/documents/{document_id}")
async def get_document(
    document_id: DocumentId, session: DataReader, livemode: Livemode
) -> DocumentRead:
    """One document."""
    return await service.get(session, document_id, livemode=livemode)


@router.post("/documents/{document_id}")
async def update_document(
    document_id: DocumentId, body: DocumentUpdate, session: DataWriter, livemode: Livemode
) -> DocumentRead:
    """Change the fields sent; `metadata` is merged, a null value removing its key."""
    changes = body.model_dump(exclude_unset=True)
    return await service.update(session, document_id, changes, livemode=livemode)


@router.delete("/documents/{document_id}")
async def delete_document(
    document_id: DocumentId, session: DataWriter, livemode: Livemode
) -> DocumentDeleted:
    """Delete a document."""
    await service.delete(session, document_id)
    return DocumentDeleted(id=document_id, livemode=livemode)


@router.post("/list-tenant-ids", response_model=TenantIdsResult)
@hot
async def list_tenant_ids(
    body: ListTenantIds, schema: ReadSchema, request: Request, livemode: Livemode
) -> Response:
    """The distinct `tenant_id` values of the documents, a page at a time: pass
    `next_after` as `after` until `has_more` is false. A JSON body is required, even `{}`."""
    lanes = request.app.state.lanes
    page = await service.tenant_ids_json(
        lanes, schema, after=body.after, limit=body.limit, livemode=livemode
    )
    return Response(page, media_type="application/json")
