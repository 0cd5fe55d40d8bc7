"""Requests per database, API key and day: what the admin's dashboard charts.

Each answered request of a database is counted in memory (its status class and its time
in a bucket of `LATENCY_BOUNDS_MS`), and every `interval` seconds one statement adds the
counts to `tenantry.request_traffic` (control revision 0016); the server adds what is left
when it stops. Counts are statistics, not data: a process that dies loses at most its last
`interval` of them. Requests with an access token rather than an API key are counted under
the key id `""`. Off with the metrics (`TENANTRY_METRICS=false`).
"""

import asyncio
import bisect
import logging
import time
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("tenantry.traffic")

LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)  # then: slower
_BOUNDS_SECONDS = tuple(bound / 1000 for bound in LATENCY_BOUNDS_MS)
_EPOCH = date(1970, 1, 1)
REQUESTS, CLIENT_ERRORS, SERVER_ERRORS, LATENCY = 0, 1, 2, 3  # places in a day's counts

ADD = text("""
    INSERT INTO tenantry.request_traffic AS t
        (day, database_id, api_key_id, requests, client_errors, server_errors, latency)
    SELECT day, database_id, api_key_id, requests, client_errors, server_errors,
           CAST(latency AS bigint[])
    FROM unnest(CAST(:days AS date[]), CAST(:databases AS text[]), CAST(:keys AS text[]),
                CAST(:requests AS bigint[]), CAST(:client_errors AS bigint[]),
                CAST(:server_errors AS bigint[]), CAST(:latencies AS text[]))
        AS u (day, database_id, api_key_id, requests, client_errors, server_errors, latency)
    ON CONFLICT (database_id, day, api_key_id) DO UPDATE SET
        requests = t.requests + excluded.requests,
        client_errors = t.client_errors + excluded.client_errors,
        server_errors = t.server_errors + excluded.server_errors,
        latency = ARRAY(SELECT a + b FROM unnest(t.latency, excluded.latency) AS l (a, b))
""")
RETENTION = timedelta(days=90)  # the worker deletes older days
EXPIRE = text("DELETE FROM tenantry.request_traffic WHERE day < :before")

Key = tuple[int, str, str]  # (day since 1970, database id, API key id)


class Traffic:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._counts: dict[Key, list[int]] = {}

    def record(self, database_id: str, api_key_id: str | None, status: int, seconds: float) -> None:
        key = (int(time.time() // 86400), database_id, api_key_id or "")
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0] * (LATENCY + len(LATENCY_BOUNDS_MS) + 1)
        counts[REQUESTS] += 1
        if status >= 500:
            counts[SERVER_ERRORS] += 1
        elif status >= 400:
            counts[CLIENT_ERRORS] += 1
        counts[LATENCY + bisect.bisect_left(_BOUNDS_SECONDS, seconds)] += 1

    async def flush(self, engine: AsyncEngine) -> None:
        """Add the counts kept since the last flush to the table."""
        if not self._counts:
            return
        counts, self._counts = self._counts, {}
        keys = list(counts)
        rows = list(counts.values())
        async with engine.begin() as connection:
            await connection.execute(
                ADD,
                {
                    "days": [_EPOCH + timedelta(days=day) for day, _, _ in keys],
                    "databases": [database for _, database, _ in keys],
                    "keys": [key for _, _, key in keys],
                    "requests": [row[REQUESTS] for row in rows],
                    "client_errors": [row[CLIENT_ERRORS] for row in rows],
                    "server_errors": [row[SERVER_ERRORS] for row in rows],
                    "latencies": ["{" + ",".join(map(str, row[LATENCY:])) + "}" for row in rows],
                },
            )

    async def run(self, engine: AsyncEngine) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush(engine)
            except Exception:
                logger.exception("could not record the requests' traffic")


def percentile(buckets: list[int], share: float) -> int | None:
    """The upper bound (ms) of the bucket holding the `share` (0 to 1) quantile of the
    requests counted in `buckets` (None: slower than the last bound, or none counted)."""
    total = sum(buckets)
    if not total:
        return None
    rank, seen = share * total, 0
    for bound, count in zip((*LATENCY_BOUNDS_MS, None), buckets, strict=True):
        seen += count
        if seen >= rank:
            return bound
    return None
