"""The audit trail of an organization, newest first, for its root and managers."""

from collections.abc import Sequence
from typing import Any

from tenantry.auth.context import AuthContext
from tenantry.control.audit import repository
from tenantry.control.audit.schemas import Filters
from tenantry.db.sessions import ControlSession
from tenantry.errors import BadRequest
from tenantry.models.control import AuditEvent

SCOPE = "audit"


class InvalidAuditCursor(BadRequest):
    code = "INVALID_CURSOR"
    default_detail = "The cursor is not one this list gave out; start again without it."

    def __init__(self) -> None:
        super().__init__(errors={"cursor": ["Not a cursor of this list."]})


async def page(
    session: ControlSession,
    caller: AuthContext,
    cursors: Any,
    filters: Filters,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[AuditEvent], str | None]:
    """One page of the caller's organization's events and the cursor of the next. The
    cursors are the server's (`app.state.cursors`), bound to the organization: a cursor
    of another organization's trail is not one of this list."""
    assert caller.org_id is not None
    signer = cursors.bound(f"org:{caller.org_id}")
    before_id = _before(signer, cursor)
    rows = await repository.page_of_org(
        session, caller.org_id, filters, before_id=before_id, limit=limit + 1
    )
    shown = rows[:limit]
    more = len(rows) > limit
    return shown, signer.encode_key(SCOPE, str(shown[-1].id)) if more else None


def _before(signer: Any, cursor: str | None) -> int | None:
    key = signer.decode_key(SCOPE, cursor, 1)
    if key is None:
        return None
    try:
        return int(key[0])
    except ValueError as error:
        raise InvalidAuditCursor from error
