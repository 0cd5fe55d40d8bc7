"""SQL of documents and their tenant ids, in the caller's schema."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from tenantry.db.engine import Lanes
from tenantry.db.sessions import TenantSession, fetch_row
from tenantry.models.data import Document

# One round trip: a page of the distinct tenant ids (an index range of the table the
# triggers keep), and their total (the sum of a counter's slots).
# {schema} is filled in by `in_schema`, which quotes a validated name: no input reaches it.
TENANT_IDS = """
    SELECT array(
               SELECT tenant_id FROM {schema}.document_tenant_ids
               WHERE tenant_id > coalesce($1::text, '') COLLATE "C"
               ORDER BY tenant_id LIMIT $2
           ) AS tenant_ids,
           (SELECT coalesce(sum(value), 0)::bigint FROM {schema}.counters
            WHERE name = 'tenant_ids') AS total
"""


async def add(session: TenantSession, values: dict[str, Any]) -> Document | None:
    """Insert a document; None when its id is taken."""
    statement = (
        insert(Document)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Document.id])
        .returning(Document)
    )
    return (await session.scalars(statement)).one_or_none()


async def get(session: TenantSession, document_id: str, *, for_update: bool = False) -> Any:
    query = select(Document).where(Document.id == document_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def remove(session: TenantSession, document_id: str) -> bool:
    statement = delete(Document).where(Document.id == document_id).returning(Document.id)
    return (await session.scalars(statement)).one_or_none() is not None


async def browse(
    session: TenantSession,
    *,
    tenant_ids: Sequence[str] | None,
    language: str | None,
    offset: int,
    limit: int,
) -> Sequence[Document]:
    query = select(Document).order_by(Document.created_at, Document.id)
    if tenant_ids is not None:
        query = query.where(Document.tenant_id.in_(tenant_ids))
    if language is not None:
        query = query.where(Document.language == language)
    return (await session.scalars(query.offset(offset).limit(limit))).all()


async def tenant_ids(lanes: Lanes, schema: str, after: str | None, limit: int) -> Any:
    """Up to `limit` tenant ids after `after`, in byte order, and how many there are."""
    return await fetch_row(lanes, TENANT_IDS, schema, after, limit)
