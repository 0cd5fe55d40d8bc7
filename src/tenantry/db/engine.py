"""The async engines on asyncpg: one for the control plane, and the data plane's lanes.

A database's schema always gets its connections from the same lane (a hash of its name).
Each connection therefore sees only its lane's share of the schemas, which keeps what it
caches per schema small and warm: PostgreSQL's catalog cache (about 20 KiB per table
touched, never freed while the connection lives) and the driver's prepared statements (the
schema is in the statement's text). Every `CHECK_EVERY` checkouts a connection
reports the size of its catalog cache; one over `catalog_cache_limit_mb` is replaced by a
new connection, so the cache cannot grow without bound.
"""

import json
import zlib
from typing import Any

import asyncpg
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


def _server_settings(settings: Settings) -> dict[str, str]:
    return {
        "search_path": SEARCH_PATH,
        "application_name": "tenantry",
        "statement_timeout": str(settings.statement_timeout_ms),
    }


def create_engine(
    settings: Settings, *, pool_size: int | None = None, max_overflow: int | None = None
) -> AsyncEngine:
    assert settings.database_url is not None, "start the embedded PostgreSQL first"
    server_settings = _server_settings(settings)
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
    """The data plane's pools; `of(schema)` is the one a schema always uses.

    Each lane has two: an engine for sessions (writes, and reads that need a transaction),
    and `reader(schema)`, plain driver connections for the hot reads, which are single
    statements that change nothing on the connection, so returning one to the pool needs
    no reset (the driver's default reset is a round trip per request).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engines = [
            create_engine(
                settings,
                pool_size=settings.lane_pool_size,
                max_overflow=settings.lane_max_overflow,
            )
            for _ in range(settings.lanes)
        ]
        self.readers: list[asyncpg.Pool] = []
        self._uses = [0] * settings.lanes
        self._limit = settings.catalog_cache_limit_mb * 1024 * 1024

    def _lane(self, schema: str) -> int:
        return zlib.crc32(schema.encode()) % len(self.engines)

    def of(self, schema: str) -> AsyncEngine:
        return self.engines[self._lane(schema)]

    async def start(self) -> None:
        settings = self.settings
        assert settings.database_url is not None
        dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.readers = [
            await asyncpg.create_pool(
                dsn,
                min_size=0,
                max_size=settings.lane_readers,
                server_settings=_server_settings(settings),
                statement_cache_size=settings.statement_cache_size,
                init=_json_codecs,
                reset=_nothing_to_reset,
                max_inactive_connection_lifetime=900,
            )
            for _ in self.engines
        ]

    async def fetch(self, schema: str, statement: str, *args: Any) -> list[Any]:
        """Every row of one statement, on a reader connection of `schema`'s lane."""
        lane = self._lane(schema)
        pool = self.readers[lane]
        async with pool.acquire() as connection:
            rows: list[Any] = await connection.fetch(statement, *args)
            self._uses[lane] += 1
            if self._uses[lane] % CHECK_EVERY == 0:
                size = await connection.fetchval(CATALOG_CACHE_BYTES)
                if size > self._limit:
                    pool.expire_connections()  # each is replaced when it comes back
        return rows

    async def dispose(self) -> None:
        for pool in self.readers:
            await pool.close()
        for engine in self.engines:
            await engine.dispose()


async def _json_codecs(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """The hot reads leave no state on a connection: nothing to undo."""
