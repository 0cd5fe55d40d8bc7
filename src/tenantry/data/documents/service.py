"""Documents of the caller's database. Services never commit."""

from typing import Any

from tenantry.data.documents import repository
from tenantry.data.documents.schemas import (
    BrowseRequest,
    DocumentPage,
    DocumentRead,
    TenantIdsResult,
)
from tenantry.data.search import service as search
from tenantry.db.engine import Lanes
from tenantry.db.sessions import TenantSession
from tenantry.errors import Conflict, NotFound
from tenantry.ids import new_id
from tenantry.kernel.versions import V20241104
from tenantry.models.data import Document

FIELDS = {"metadata": "extra"}  # API name -> attribute
BROWSE_URL = f"{V20241104}/documents/browse"
TENANT_IDS_URL = f"{V20241104}/list-tenant-ids"


class DocumentNotFound(NotFound):
    code = "DOCUMENT_NOT_FOUND"
    default_detail = "No document of this database has this id."


class DuplicatedDocumentId(Conflict):
    code = "DUPLICATED_DOCUMENT_ID"
    default_detail = "A document with this id already exists."


def read(document: Document, livemode: bool) -> DocumentRead:
    return DocumentRead(
        id=document.id,
        title=document.title,
        content=document.content,
        content_type=document.content_type,
        language=document.language,
        metadata=document.extra,
        source_uri=document.source_uri,
        tenant_id=document.tenant_id,
        created_at=document.created_at,
        updated_at=document.updated_at,
        livemode=livemode,
    )


async def add(session: TenantSession, values: dict[str, Any], *, livemode: bool) -> DocumentRead:
    values = {FIELDS.get(name, name): value for name, value in values.items()}
    values["id"] = values.get("id") or new_id()
    if values.get("created_at") is None:
        values.pop("created_at", None)  # the database's clock
    values |= await search.indexed(values)
    document = await repository.add(session, values)
    if document is None:
        raise DuplicatedDocumentId(f"A document with id {values['id']!r} already exists.")
    await search.remember(session, document)
    return read(document, livemode)


async def get(session: TenantSession, document_id: str, *, livemode: bool) -> DocumentRead:
    document = await repository.get(session, document_id)
    if document is None:
        raise DocumentNotFound
    return read(document, livemode)


async def update(
    session: TenantSession, document_id: str, changes: dict[str, Any], *, livemode: bool
) -> DocumentRead:
    document = await repository.get(session, document_id, for_update=True)
    if document is None:
        raise DocumentNotFound
    if "metadata" in changes:
        document.extra = _merged(document.extra, changes.pop("metadata"))
    for name, value in changes.items():
        setattr(document, name, value)
    if {"title", "content", "content_type"} & changes.keys():
        current = {
            "title": document.title,
            "content": document.content,
            "content_type": document.content_type,
        }
        for name, value in (await search.indexed(current)).items():
            setattr(document, name, value)
    await session.flush()
    await session.refresh(document)
    await search.remember(session, document)
    return read(document, livemode)


def _merged(current: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    """`changes` laid over `current`; a null value removes its key, null removes all."""
    if changes is None:
        return {}
    merged = {**current, **changes}
    return {key: value for key, value in merged.items() if value is not None}


async def delete(session: TenantSession, document_id: str) -> None:
    if not await repository.remove(session, document_id):
        raise DocumentNotFound


async def browse(session: TenantSession, request: BrowseRequest, *, livemode: bool) -> DocumentPage:
    """A page of documents, oldest first, by page number."""
    rows = await repository.browse(
        session,
        tenant_ids=request.tenant_id,
        language=request.language,
        offset=(request.page - 1) * request.limit,
        limit=request.limit + 1,
    )
    has_more = len(rows) > request.limit
    return DocumentPage(
        url=BROWSE_URL,
        data=[read(row, livemode) for row in rows[: request.limit]],
        has_more=has_more,
        next_page=request.page + 1 if has_more else None,
        page=request.page,
        limit=request.limit,
        livemode=livemode,
    )


async def tenant_ids_json(
    lanes: Lanes, schema: str, *, after: str | None, limit: int, livemode: bool
) -> bytes:
    """A page of the distinct tenant ids in byte order, serialized (one statement, no
    session); `next_after` resumes after it."""
    row = await repository.tenant_ids(lanes, schema, after, limit + 1)
    values: list[str] = row["tenant_ids"]
    has_more = len(values) > limit
    shown = values[:limit]
    result = TenantIdsResult.model_construct(
        url=TENANT_IDS_URL,
        data=shown,
        has_more=has_more,
        next_after=shown[-1] if has_more else None,
        limit=limit,
        after=after,
        total_number_of_results=row["total"],
        livemode=livemode,
    )
    return result.model_dump_json().encode()
