"""Through PgBouncer in transaction mode (Debian 12's 1.18, which keeps no prepared
statement of its own): unnamed statements with arguments outside a transaction, the
session settings from its `connect_query`, LISTEN and the worker's locks on PostgreSQL
itself."""

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.engine import (
    SEARCH_PATH,
    Lanes,
    UnboundSearchPath,
    create_engine,
)
from tenantry.db.sessions import fetch_one
from tests.utils.factories import ready_registration
from tests.utils.pgbouncer import PgBouncer, require_pgbouncer
from tests.utils.polling import eventually
from tests.utils.postgres import plain_url
from tests.utils.settings import make_settings

CLIENTS = 60
ROUNDS = 50


@pytest.fixture(scope="module")
def pooled(
    pgbouncer: PgBouncer,
    database_url: str,
    engine: AsyncEngine,  # the database migrated
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    return make_settings(
        pgbouncer.url(database_url),
        tmp_path_factory.mktemp("pooled"),
        direct_database_url=database_url,
        rate_limit="none",
        log_level="warning",
    )


async def _sums(connection: asyncpg.Connection, client: int) -> list[int]:
    """Statements of different texts and arguments, each parsed, then run, outside any
    transaction."""
    return [await connection.fetchval(f"SELECT $1::int + {client}", turn) for turn in range(ROUNDS)]


async def test_statements_outside_a_transaction_reach_one_server_connection(
    pgbouncer: PgBouncer, database_url: str
) -> None:
    """Many clients over fewer server connections, no statement kept: each answer is its
    own. The driver parses and describes an unnamed statement, then binds and runs it, and
    ends only then with a `Sync`: one transaction of the pooler's, on one server
    connection."""
    url = pgbouncer.url(database_url)
    connections = [
        await asyncpg.connect(
            url,
            statement_cache_size=0,
        )
        for _ in range(CLIENTS)
    ]
    try:
        answers = await asyncio.gather(*(_sums(c, n) for n, c in enumerate(connections)))
    finally:
        for connection in connections:
            await connection.close()
    assert answers == [[turn + n for turn in range(ROUNDS)] for n in range(CLIENTS)]


async def test_every_path_of_the_engine_and_the_lanes(pooled: Settings) -> None:
    engine, lanes = create_engine(pooled), Lanes(pooled)
    try:
        assert await fetch_one(engine, "SELECT current_setting('search_path'), $1::int", 7) == (
            SEARCH_PATH,
            7,
        )
        async with engine.begin() as connection:
            assert (await connection.exec_driver_sql("SHOW search_path")).scalar() == SEARCH_PATH
        rows = await asyncio.gather(*(lanes.fetch(f"s{n}", "SELECT $1::int", n) for n in range(40)))
        assert [row[0][0] for row in rows] == list(range(40))
        status = await lanes.run("s", lambda driver: driver.execute("SELECT $1::int", 1))
        assert status == "SELECT 1"
    finally:
        await lanes.dispose()
        await engine.dispose()


@pytest.fixture(scope="module")
def bare_pgbouncer(postgres_server: str) -> Iterator[PgBouncer]:
    """PgBouncer whose server connections start with the server's own settings."""
    require_pgbouncer()
    folder = Path(tempfile.mkdtemp(prefix="tenantry-test-pgbouncer-bare-"))
    bouncer = PgBouncer(folder, postgres_server, "SELECT 1")
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_pooler_without_the_session_settings_is_refused(
    bare_pgbouncer: PgBouncer, database_url: str, pooled: Settings
) -> None:
    """Fail closed: unqualified names would reach `public`, the template."""
    settings = pooled.model_copy(update={"database_url": bare_pgbouncer.url(database_url)})
    settings = Settings.model_validate(settings.model_dump())  # the URL as the driver's
    lanes, engine = Lanes(settings), create_engine(settings)
    try:
        with pytest.raises(UnboundSearchPath):
            await lanes.fetch("s", "SELECT 1")
        with pytest.raises(UnboundSearchPath):
            await fetch_one(engine, "SELECT 1")
    finally:
        await lanes.dispose()
        await engine.dispose()


@pytest.fixture(scope="module")
async def pooled_app(pooled: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(pooled)
    async with app.router.lifespan_context(app):
        yield app


async def test_listen_and_the_worker_go_around_the_pooler(
    pooled_app: FastAPI, database_url: str
) -> None:
    """A registration's database is provisioned (the worker's job locks hold across
    statements), and a NOTIFY reaches the auth listener (through PgBouncer, the session
    that ran LISTEN would be gone at the end of its transaction)."""
    await asyncio.wait_for(pooled_app.state.auth_listener.connected.wait(), timeout=60)
    transport = httpx.ASGITransport(app=pooled_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tenantry.test") as client:
        registration = await ready_registration(client)
        assert (await client.get("/v1/spaces", headers=registration.key)).status_code == 200
    direct = await asyncpg.connect(plain_url(database_url))
    try:
        await direct.execute("SELECT pg_notify('tenantry_auth', 'family:told-by-notify')")
    finally:
        await direct.close()
    cache = pooled_app.state.auth_cache

    async def told() -> bool:
        return bool(cache.ended("told-by-notify"))

    await eventually(told, "the notice reaches the auth cache")
