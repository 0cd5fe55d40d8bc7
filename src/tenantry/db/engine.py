"""The async engines on asyncpg: one for the control plane, and the data plane's lanes.

A database's schema always gets its connections from the same lane (a hash of its name).
Each connection therefore sees only its lane's share of the schemas, which keeps what it
caches per schema small and warm: PostgreSQL's catalog cache (about 20 KiB per table
touched, never freed while the connection lives) and the driver's prepared statements (the
schema is in the statement's text). A connection that has touched `schemas_per_connection`
schemas anyway is closed when it next leaves the pool, so neither can grow without bound.
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
SCHEMAS_SEEN = "tenantry_schemas_seen"


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
    limit = settings.schemas_per_connection

    @event.listens_for(engine.sync_engine, "checkout")
    def _retire_when_spent(dbapi: Any, entry: ConnectionPoolEntry, proxy: Any) -> None:
        if len(entry.info.get(SCHEMAS_SEEN, ())) >= limit:
            raise DisconnectionError("this connection has seen enough schemas")  # a new one

    return engine


def note_schema(info: dict[Any, Any], schema: str) -> None:
    """Count `schema` against the connection whose `info` this is."""
    info.setdefault(SCHEMAS_SEEN, set()).add(schema)


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
