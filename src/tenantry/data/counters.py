"""Row counts of a database's catalog, for `GET databases/current/`."""

from sqlalchemy import func, select

from tenantry.data import models  # noqa: F401  (registers the tables)
from tenantry.db.base import DataPlaneBase
from tenantry.db.sessions import TenantSession

COUNTED_TABLES = {"rating": "ratings", "user": "users", "item": "items"}


async def count_rows(session: TenantSession) -> dict[str, int]:
    """Exact counts of ratings, users and items; zero for a table this server lacks."""
    counts = dict.fromkeys(COUNTED_TABLES, 0)
    for counter, name in COUNTED_TABLES.items():
        table = DataPlaneBase.metadata.tables.get(name)
        if table is not None:
            counts[counter] = await session.scalar(select(func.count()).select_from(table)) or 0
    return counts
