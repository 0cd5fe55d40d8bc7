from collections.abc import Sequence

from sqlalchemy import or_, select

from tenantry.control.audit.schemas import Filters
from tenantry.db.sessions import ControlSession
from tenantry.models.control import AuditEvent


async def page_of_org(
    session: ControlSession, org_id: str, filters: Filters, *, before_id: int | None, limit: int
) -> Sequence[AuditEvent]:
    """The organization's events, newest first, older than `before_id`."""
    query = select(AuditEvent).where(AuditEvent.org_id == org_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if filters.actor is not None:
        query = query.where(
            or_(
                AuditEvent.actor_account_id == filters.actor,
                AuditEvent.actor_api_key_id == filters.actor,
            )
        )
    if filters.action is not None:
        query = query.where(AuditEvent.action == filters.action)
    if filters.database_id is not None:
        query = query.where(AuditEvent.database_id == filters.database_id)
    if filters.since is not None:
        query = query.where(AuditEvent.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.created_at < filters.until)
    return (await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit))).all()
