"""The async engines on asyncpg: one for the control plane, and the data plane's lanes.

A database's schema always gets its connections from the same lane (a hash of its name).
Each connection therefore sees only its lane's share of the schemas, which keeps what it
caches per schema small and warm: PostgreSQL's catalog cache (about 20 KiB per table
touched, never freed while the connection lives) and the driver's prepared statements (the
schema is in the statement's text). Every `CHECK_EVERY` checkouts a connection
reports the size of its catalog cache; one over `catalog_cache_limit_mb` is replaced by a
new connection, so the cache cannot grow without bound.

Through a pooler in transaction mode (`Settings.pooled`), each transaction may run on
another server connection: no statement is prepared by name (the driver's unnamed
statement is parsed and run in one exchange ending with one `Sync`, so in one transaction
of the pooler's), and the session settings come from the pooler (`pooler_connect_query`),
checked on every new connection.
"""

import asyncio
import json
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from tenantry.config import Settings

# Nothing is reachable by an unqualified name: a statement not bound to a schema fails
# instead of falling through to the template in `public`.
SEARCH_PATH = "pg_catalog"
T = TypeVar("T")
CHECK_EVERY = 500
USES = "tenantry_uses"
CATALOG_CACHE_BYTES = (
    "SELECT coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts "
    "WHERE 'CacheMemoryContext' IN (name, parent)"
)


APPLICATION_NAME = "tenantry"


class UnboundSearchPath(RuntimeError):
    """A connection through the pooler does not start with Tenantry's session settings."""


def _session_settings(settings: Settings) -> dict[str, str]:
    return {"search_path": SEARCH_PATH, "statement_timeout": str(settings.statement_timeout_ms)}


def _server_settings(settings: Settings) -> dict[str, str]:
    """What a connection asks for as it starts. PgBouncer (before 1.20) refuses any startup
    parameter but a few, so through it the session settings are its `connect_query`."""
    if settings.pooled:
        return {"application_name": APPLICATION_NAME}
    return {"application_name": APPLICATION_NAME, **_session_settings(settings)}


def pooler_connect_query(settings: Settings) -> str:
    """The `connect_query` of PgBouncer's entry for Tenantry's database: the session
    settings every server connection starts with."""
    return "; ".join(f"SET {name} = {value}" for name, value in _session_settings(settings).items())


def _statement_cache_size(settings: Settings) -> int:
    """Statements kept prepared by name: none through a pooler, where the next transaction
    may run on a server connection that never saw them."""
    return 0 if settings.pooled else settings.statement_cache_size


def _refuse_unbound(search_path: str) -> None:
    if search_path != SEARCH_PATH:
        raise UnboundSearchPath(
            f"connections through the pooler start with search_path {search_path!r}, not "
            f"{SEARCH_PATH!r}: give PgBouncer's entry of this database the connect_query of "
            "docs/scaling.md"
        )


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
            "timeout": settings.pool_timeout,  # an unreachable server: a 503, not a long hang
            "statement_cache_size": _statement_cache_size(settings),
            "prepared_statement_cache_size": _statement_cache_size(settings),
        },
    )
    limit = settings.catalog_cache_limit_mb * 1024 * 1024

    if settings.pooled:

        @event.listens_for(engine.sync_engine, "connect")
        def _check_session_settings(dbapi: Any, entry: ConnectionPoolEntry) -> None:
            cursor = dbapi.cursor()
            try:
                cursor.execute("SELECT current_setting('search_path')")
                search_path = cursor.fetchone()[0]
            finally:
                cursor.close()
                dbapi.rollback()
            _refuse_unbound(search_path)

    @event.listens_for(engine.sync_engine, "checkout")
    def _renew_when_heavy(dbapi: Any, entry: ConnectionPoolEntry, proxy: Any) -> None:
        if dbapi.driver_connection.is_closed():  # the server went away: no round trip to see it
            raise DisconnectionError("the server closed this connection")  # replaced, as below
        if half_begun(dbapi.driver_connection):
            raise DisconnectionError("a transaction was left half begun on this connection")
        uses = entry.info[USES] = entry.info.get(USES, 0) + 1
        if uses % CHECK_EVERY == 0 and catalog_cache_bytes(dbapi) > limit:
            raise DisconnectionError("catalog cache over its limit")  # the pool makes a new one

    return engine


def half_begun(driver: asyncpg.Connection) -> bool:
    """Whether the driver believes a transaction of its own is open on `driver`, or the
    server has one open, on a connection that should hold none. A task cancelled while the
    driver sends `BEGIN` leaves the driver believing it is in that transaction (it notes
    the transaction before sending, and forgets it only on commit or rollback), so every
    later transaction on the connection would be a `SAVEPOINT` outside any transaction."""
    return driver._top_xact is not None or driver.is_in_transaction()


def catalog_cache_bytes(dbapi: Any) -> int:
    """What the connection's backend holds in its catalog cache."""
    cursor = dbapi.cursor()
    try:
        cursor.execute(CATALOG_CACHE_BYTES)
        return int(cursor.fetchone()[0])
    finally:
        cursor.close()


class Reader:
    """A lane's driver connections for the hot paths, handed out in turn: single
    statements outside any transaction, and short transactions of the lean writes.

    Neither leaves anything on the connection (a transaction ends before the connection is
    handed back), so a connection needs no reset between uses (a pool's reset is a round
    trip per request), and waiting is first come, first served: the driver's pool gives a
    returned connection to whichever request asks next, which under load made an unlucky
    request wait many turns (p99 ten times p50), and it costs a task per release. A
    connection is opened on first use and after any failure that is not a plain statement
    error (the next request opens a new one); one whose catalog cache has grown over the
    limit is closed and replaced.
    """

    def __init__(self, dsn: str, settings: Settings, limit_bytes: int) -> None:
        self.dsn = dsn
        self.settings = settings
        self.limit_bytes = limit_bytes
        self.turns = asyncio.Semaphore(settings.lane_readers)
        self.idle: list[asyncpg.Connection | None] = [None] * settings.lane_readers
        self.uses = 0

    @property
    def in_use(self) -> int:
        """Connections lent out now."""
        return self.settings.lane_readers - len(self.idle)

    @property
    def waiting(self) -> int:
        """Requests waiting for a connection."""
        return len(self.turns._waiters or ())

    async def fetch(self, statement: str, *args: Any) -> list[Any]:
        rows: list[Any] = await self.run(lambda connection: connection.fetch(statement, *args))
        return rows

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`work` done on one of the connections, in turn."""
        async with self.turns:
            connection = self.idle.pop()
            if connection is not None and connection.is_closed():  # the server went away
                connection.terminate()
                connection = None
            try:
                if connection is None:
                    connection = await self._connect()
                done = await work(connection)
                self.uses += 1
                if (
                    self.uses % CHECK_EVERY == 0
                    and await connection.fetchval(CATALOG_CACHE_BYTES) > self.limit_bytes
                ):
                    await _close(connection)
                    connection = None
            except BaseException as error:
                if connection is not None and not _reusable_after(error, connection):
                    connection.terminate()
                    connection = None
                raise
            finally:
                self.idle.append(connection)
        return done

    async def _connect(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(
            self.dsn,
            server_settings=_server_settings(self.settings),
            statement_cache_size=_statement_cache_size(self.settings),
            timeout=self.settings.pool_timeout,
        )
        await _json_codecs(connection)
        if self.settings.pooled:
            _refuse_unbound(await connection.fetchval("SELECT current_setting('search_path')"))
        return connection

    async def close(self) -> None:
        for connection in self.idle:
            if connection is not None:
                await _close(connection)
        self.idle = [None] * len(self.idle)


def _reusable_after(error: BaseException, connection: asyncpg.Connection) -> bool:
    """Whether a connection is fit for the next use after `error`: yes after the server
    refused a statement or the work stopped between statements (a transaction rolled
    back); no when the connection broke or a statement was cancelled midway."""
    broken = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)
    return (
        isinstance(error, Exception)
        and not isinstance(error, broken)
        and not connection.is_closed()
        and not connection.is_in_transaction()
    )


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(connection.close(), timeout=5)
    except (OSError, TimeoutError, asyncpg.InterfaceError):
        connection.terminate()


class Lanes:
    """The data plane's pools; `of(schema)` is the one a schema always uses.

    Each lane has two: an engine for sessions, and a `Reader`, driver connections for the
    hot reads and the lean writes (`run`).
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
        assert settings.database_url is not None
        dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        limit = settings.catalog_cache_limit_mb * 1024 * 1024
        self.readers = [Reader(dsn, settings, limit) for _ in self.engines]

    def _lane(self, schema: str) -> int:
        return zlib.crc32(schema.encode()) % len(self.engines)

    def of(self, schema: str) -> AsyncEngine:
        return self.engines[self._lane(schema)]

    async def fetch(self, schema: str, statement: str, *args: Any) -> list[Any]:
        """Every row of one statement, on a reader connection of `schema`'s lane."""
        return await self.readers[self._lane(schema)].fetch(statement, *args)

    async def run(self, schema: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`work` on a reader connection of `schema`'s lane, outside any transaction."""
        return await self.readers[self._lane(schema)].run(work)

    async def dispose(self) -> None:
        for reader in self.readers:
            await reader.close()
        for engine in self.engines:
            await engine.dispose()


async def _json_codecs(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
