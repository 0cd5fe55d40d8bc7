"""Fixtures: one real PostgreSQL per test session, migrated once; the real app over HTTP.

The server is the embedded PostgreSQL, or a fresh database created on the server named by
TENANTRY_TEST_DATABASE_URL (and dropped at the end).
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.engine import create_engine
from tenantry.db.migrate import upgrade_all
from tenantry.embedded import EmbeddedPostgres
from tests.probe import probe_router

TEST_SECRET = "test-secret-that-is-long-enough-to-pass-0123456789"
# The suite registers hundreds of organizations from one address; the limit has tests of
# its own (tests/control/test_registration_limit.py).
SUITE_REGISTRATION_LIMIT = "100000/hour"


def plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def create_database(server_url: str) -> str:
    """Create an empty database on the server of `server_url`; return its URL."""
    name = f"tenantry_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(plain_url(server_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base, _, query = plain_url(server_url).partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


async def drop_database(url: str) -> None:
    base, _, query = url.partition("?")
    server, name = base.rsplit("/", 1)
    connection = await asyncpg.connect(f"{server}/postgres" + (f"?{query}" if query else ""))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


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
async def database_url(postgres_server: str) -> AsyncIterator[str]:
    url = await create_database(postgres_server)
    yield url
    await drop_database(url)


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "data_dir": data_dir,
        "log_format": "json",
        "pool_size": 5,
        "registration_limit": SUITE_REGISTRATION_LIMIT,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


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
