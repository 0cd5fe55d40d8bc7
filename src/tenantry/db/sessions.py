"""Sessions of the two planes, and the one place that chooses a database's schema.

A request gets one connection and one transaction, committed before the response is sent.
Both planes' sessions share it, so a data-plane write and its control-plane bookkeeping
(idempotency records, counters) commit or roll back together.

A request holds at most one control-plane connection at a time (`one_control_connection`
refuses a second): two connections of one request can wait on each other, a deadlock that
PostgreSQL cannot see, and requests that each wait for a second connection starve the
pool. Work that must outlive a refusal (counting a failed login, revoking a reused refresh
token's family) commits in a short transaction of its own before the refusal is raised.
"""

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from typing import Any, NewType

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from tenantry.context import current_request
from tenantry.db.engine import Lanes
from tenantry.db.schema_names import quote

ControlSession = NewType("ControlSession", AsyncSession)
TenantSession = NewType("TenantSession", AsyncSession)


async def bind_schema(connection: AsyncConnection, schema: str) -> AsyncConnection:
    """Point every data-plane statement on `connection` at `schema`.

    The translation lives on this checkout of the connection only: it is gone when the
    connection returns to the pool, so no tenant state survives the request.
    """
    quote(schema)  # refuses anything but a server-made name
    return await connection.execution_options(schema_translate_map={None: schema})


def in_schema(statement: str, schema: str) -> str:
    """`statement` with its `{schema}` placeholders naming `schema`: the same binding as
    `bind_schema`, for SQL sent to the driver as it is."""
    return statement.replace("{schema}", quote(schema))


class SecondControlConnection(RuntimeError):
    """A request asked for a control-plane connection while it held one."""


@contextmanager
def one_control_connection() -> Iterator[None]:
    """Count a control-plane connection held by the current request, refusing a second."""
    info = current_request()
    if info is None:  # the CLI, the worker, background tasks
        yield
        return
    if info.control_connections:
        raise SecondControlConnection("a request holds one control-plane connection at a time")
    info.control_connections += 1
    try:
        yield
    finally:
        info.control_connections -= 1


async def fetch_one(engine: AsyncEngine, statement: str, *args: Any) -> Any:
    """One statement on its own, outside any transaction, through the driver: the cheapest
    read (one round trip). The row, or None."""
    with one_control_connection():
        return await _fetch_one(engine, statement, *args)


async def _fetch_one(engine: AsyncEngine, statement: str, *args: Any) -> Any:
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        return await driver.fetchrow(statement, *args)


async def fetch_row(lanes: Lanes, statement: str, schema: str, *args: Any) -> Any:
    """One statement in `schema`, on its own, outside any transaction, on a reader of its
    lane: the cheapest read (one round trip). The row, or None."""
    rows = await lanes.fetch(schema, in_schema(statement, schema), *args)
    return rows[0] if rows else None


async def fetch_rows(lanes: Lanes, statement: str, schema: str, *args: Any) -> list[Any]:
    """`fetch_row`, for every row."""
    return await lanes.fetch(schema, in_schema(statement, schema), *args)


def _session(connection: AsyncConnection) -> AsyncSession:
    return AsyncSession(
        bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only"
    )


@asynccontextmanager
async def request_transaction(
    request: Request, engine: AsyncEngine, *, control: bool
) -> AsyncIterator[AsyncConnection]:
    """The request's one connection and transaction, on `engine` (the control plane's pool
    when `control`, else a lane), committed when the block ends; then what waited for the
    commit runs (`after_commit`)."""
    with one_control_connection() if control else nullcontext():
        async with _connection(engine) as connection:
            yield connection
    for callback in getattr(request.state, "after_commit", ()):
        callback()


def after_commit(request: Request, callback: Callable[[], None]) -> None:
    """Run `callback` once the request's transaction has committed (not if it rolls back)."""
    if not hasattr(request.state, "after_commit"):
        request.state.after_commit = []
    request.state.after_commit.append(callback)


@asynccontextmanager
async def _connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection, connection.begin():
        yield connection


@asynccontextmanager
async def _unit_of_work(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session on `connection`, flushed when the block succeeds; never commits."""
    session = _session(connection)
    try:
        yield session
        await session.flush()
    finally:
        await session.close()


@asynccontextmanager
async def control_session(connection: AsyncConnection) -> AsyncIterator[ControlSession]:
    """A control-plane unit of work on the caller's connection and transaction."""
    async with _unit_of_work(connection) as session:
        yield ControlSession(session)


@asynccontextmanager
async def detached_session(engine: AsyncEngine) -> AsyncIterator[ControlSession]:
    """A control-plane transaction of its own, committed when the block succeeds: for the
    CLI and the worker, and for a request that holds no other control-plane connection
    (what must outlive a refusal; lookups before the request's own connection)."""
    with one_control_connection():
        async with _connection(engine) as connection, _unit_of_work(connection) as session:
            yield ControlSession(session)


@asynccontextmanager
async def bound_session(connection: AsyncConnection, schema: str) -> AsyncIterator[TenantSession]:
    """A data-plane unit of work in `schema`, on the caller's connection and transaction."""
    async with _unit_of_work(await bind_schema(connection, schema)) as session:
        yield TenantSession(session)


@asynccontextmanager
async def tenant_session(engine: AsyncEngine, schema: str) -> AsyncIterator[TenantSession]:
    """A committed unit of work in one schema, for the CLI, the worker, and what a login
    does in its database."""
    async with (
        engine.connect() as connection,
        connection.begin(),
        bound_session(connection, schema) as session,
    ):
        yield session
