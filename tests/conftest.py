"""Fixtures: one real PostgreSQL per test session, migrated once; the real app over HTTP.

The server is the embedded PostgreSQL, or a fresh database created on the server named by
TENANTRY_TEST_DATABASE_URL (and dropped at the end).
"""

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.engine import create_engine, pooler_connect_query
from tenantry.db.migrate import upgrade_all
from tenantry.embedded import EmbeddedPostgres
from tests.utils.pgbouncer import PgBouncer, require_pgbouncer
from tests.utils.postgres import create_database, drop_database, plain_url
from tests.utils.probe import probe_router
from tests.utils.settings import make_settings


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server's `postgres` database that tests may create databases on."""
    external = os.environ.get("TENANTRY_TEST_DATABASE_URL")
    if external:
        yield plain_url(external)
        return
    # Not under pytest's temporary folder: another pytest run on the machine prunes old
    # ones, and would take the data folder from under a running server.
    folder = Path(tempfile.mkdtemp(prefix="tenantry-test-postgres-"))
    server = EmbeddedPostgres(folder, database="postgres")
    server.start()
    try:
        yield server.url()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pgbouncer(postgres_server: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the suite's PostgreSQL, its server
    connections started with the session settings of the suite's app."""
    require_pgbouncer()
    folder = Path(tempfile.mkdtemp(prefix="tenantry-test-pgbouncer-"))
    query = pooler_connect_query(make_settings(postgres_server, folder))
    bouncer = PgBouncer(folder, postgres_server, query)
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
async def database_url(postgres_server: str) -> AsyncIterator[str]:
    url = await create_database(postgres_server)
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    await upgrade_all(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    app.include_router(probe_router)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://tenantry.test") as client:
        yield client
