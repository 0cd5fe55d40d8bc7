"""The async engines on asyncpg: one for the control plane, and the data plane's lanes.

A database's schema always gets its connections from the same lane (a hash of its name).
Each connection therefore sees only its lane's share of the schemas, which keeps what it
caches per schema small and warm: PostgreSQL's catalog cache (about 20 KiB per table
touched, never freed while the connection lives) and the driver's prepared statements (the
schema is in the statement's text). Every `CHECK_EVERY` checkouts a connection
reports the size of its catalog cache; one over `catalog_cache_limit_mb` is replaced by a
new connection, so the cache cannot grow without bound.
"""

import zlib
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from tenantry.config import Settings

# Nothing is reachable by an unqualified name: a statement not bound to a schema fails
# instead of falling through to the template in `public`.
SEARCH_PATH = "pg_catalog"
CHECK_EVERY = 500
USES = "tenantry_uses"
CATALOG_CACHE_BYTES = (
    "SELECT coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts "
    "WHERE 'CacheMemoryContext' IN (name, parent)"
)


def create_engine(
    settings: Settings, *, pool_size: int | None = None, max_overflow: int | None = None
) -> AsyncEngine:
    assert settings.database_url is not None, "start the embedded PostgreSQL first"
    server_settings = {
        "search_path": SEARCH_PATH,
        "application_name": "tenantry",
        "statement_timeout": str(settings.statement_timeout_ms),
    }
    engine = create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.pool_size,
        max_overflow=settings.pool_max_overflow if max_overflow is None else max_overflow,
        pool_timeout=settings.pool_timeout,
        pool_recycle=900,
        connect_args={
            "server_settings": server_settings,
            "statement_cache_size": settings.statement_cache_size,
            "prepared_statement_cache_size": settings.statement_cache_size,
        },
    )
    limit = settings.catalog_cache_limit_mb * 1024 * 1024

    @event.listens_for(engine.sync_engine, "checkout")
    def _renew_when_heavy(dbapi: Any, entry: ConnectionPoolEntry, proxy: Any) -> None:
        uses = entry.info[USES] = entry.info.get(USES, 0) + 1
        if uses % CHECK_EVERY == 0 and catalog_cache_bytes(dbapi) > limit:
            raise DisconnectionError("catalog cache over its limit")  # the pool makes a new one

    return engine


def catalog_cache_bytes(dbapi: Any) -> int:
    """What the connection's backend holds in its catalog cache."""
    cursor = dbapi.cursor()
    try:
        cursor.execute(CATALOG_CACHE_BYTES)
        return int(cursor.fetchone()[0])
    finally:
        cursor.close()


class Lanes:
    """The data plane's pools; `of(schema)` is the one a schema always uses."""

    def __init__(self, settings: Settings) -> None:
        self.engines = [
            create_engine(
                settings,
                pool_size=settings.lane_pool_size,
                max_overflow=settings.lane_max_overflow,
            )
            for _ in range(settings.lanes)
        ]

    def of(self, schema: str) -> AsyncEngine:
        return self.engines[zlib.crc32(schema.encode()) % len(self.engines)]

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()
