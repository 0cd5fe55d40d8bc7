"""The audit trail of the caller's organization."""

from datetime import datetime
from typing import Annotated

from fastapi import Query, Request

from tenantry.auth.connection import ControlDB
from tenantry.auth.context import RootOrManager
from tenantry.control.audit import service
from tenantry.control.audit.schemas import AuditEventRead, AuditMeta, AuditPage, Filters
from tenantry.kernel.versions import V1
from tenantry.routing import Router

router = Router(prefix=f"{V1}/audit", tags=["audit"])
MAX_LIMIT = 100


@router.get("/")
async def list_audit_events(
    caller: RootOrManager,
    session: ControlDB,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Events per page.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
    ] = None,
    actor: Annotated[str | None, Query(max_length=22, description="An account or key id.")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="e.g. `api_key.revoked`.")
    ] = None,
    database_id: Annotated[str | None, Query(max_length=22)] = None,
    since: Annotated[datetime | None, Query(description="Events at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Events before.")] = None,
) -> AuditPage:
    """The organization's control-plane changes, logins and refused logins, newest first."""
    filters = Filters(actor=actor, action=action, database_id=database_id, since=since, until=until)
    events, next_cursor = await service.page(
        session, caller, request.app.state.cursors, filters, cursor=cursor, limit=limit
    )
    return AuditPage(
        data=[AuditEventRead.model_validate(event) for event in events],
        meta=AuditMeta(next_cursor=next_cursor, has_more=next_cursor is not None),
    )
