"""The admin's home page: the logged-in database at a glance, and where to go from it."""

from collections.abc import Sequence
from typing import Any

from sqladmin import ModelView
from starlette.requests import Request

from tenantry.admin.binding import BoundSessions
from tenantry.admin.sessions import current_admin
from tenantry.control.databases.repository import count_rows
from tenantry.db.sessions import TenantSession


async def context(
    request: Request, sessions: BoundSessions, views: Sequence[ModelView]
) -> dict[str, Any]:
    """The page's figures: the database, its counters, and the tables the account may open."""
    admin = current_admin()
    assert admin is not None  # the page is behind the login
    async with sessions() as session:
        counters = await count_rows(TenantSession(session))
    tables = [view for view in views if view.is_accessible(request) and view.is_visible(request)]
    return {"database": admin.database, "counters": counters, "tables": tables}
