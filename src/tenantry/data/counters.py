"""Counts of a database's catalog, for `GET databases/current/`.

Triggers keep them in the `counters` table as the writes happen (tenant migration 0003),
so reading them costs the few rows of their slots, however large the tables.
"""

from sqlalchemy import func, select

from tenantry.data.models import Counter
from tenantry.db.sessions import TenantSession

COUNTERS = ("rating", "user", "item")


async def count_rows(session: TenantSession) -> dict[str, int]:
    """Exact counts of ratings, users and items: the sums of their counters' slots."""
    query = (
        select(Counter.name, func.sum(Counter.value))
        .where(Counter.name.in_(COUNTERS))
        .group_by(Counter.name)
    )
    sums = {name: int(total) for name, total in await session.execute(query)}
    return {name: sums.get(name, 0) for name in COUNTERS}
