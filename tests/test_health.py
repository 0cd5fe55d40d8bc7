from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tenantry.app import create_app
from tests.utils.postgres import create_database, drop_database
from tests.utils.problems import assert_problem
from tests.utils.settings import make_settings


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "reachable", "migrations": "at head"}


async def _client_for(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


@pytest.fixture
async def unmigrated_client(
    postgres_server: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database(postgres_server)
    async for client in _client_for(url, tmp_path):
        yield client
    await drop_database(url)


async def test_readyz_when_migrations_are_missing(unmigrated_client: httpx.AsyncClient) -> None:
    response = await unmigrated_client.get("/readyz")
    body = assert_problem(response, 503, "SERVICE_UNAVAILABLE")
    assert "tenantry" in body["detail"]
    assert "public" in body["detail"]
    assert response.headers["retry-after"] == "5"


async def test_readyz_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    async for client in _client_for(url, tmp_path):
        response = await client.get("/readyz")
        body = assert_problem(response, 503, "SERVICE_UNAVAILABLE")
        assert "127.0.0.1" not in response.text
        assert body["detail"] == "The database is not reachable."
