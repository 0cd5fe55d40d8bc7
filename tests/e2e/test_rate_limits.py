"""Two `tenantry serve` processes with one Redis share each key's rate limit."""

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.factories import PASSWORD
from tests.utils.postgres import create_database, drop_database
from tests.utils.redis import REDIS_URL, redis_answers
from tests.utils.server import Server

pytestmark = pytest.mark.slow


@pytest.fixture
async def shared_database(postgres_server: str) -> AsyncIterator[str]:
    """A database both servers use, on the suite's PostgreSQL server."""
    url = await create_database(postgres_server)
    yield url
    await drop_database(url)


@pytest.fixture
def servers(tmp_path: Path, env: dict[str, str], shared_database: str) -> Iterator[list[Server]]:
    if not redis_answers():
        pytest.skip("no Redis answers PING on 127.0.0.1:6379")
    env |= {
        "TENANTRY_DATABASE_URL": shared_database,
        "TENANTRY_SECRET_KEY": "e2e-secret-that-is-long-enough-0123456789",
        "TENANTRY_RATE_LIMIT": "5/minute",
        "TENANTRY_REDIS_URL": REDIS_URL,
        "TENANTRY_REDIS_PREFIX": f"tenantry-test-{uuid.uuid4().hex}",
    }
    started = [Server(tmp_path / name, dict(env)) for name in ("a", "b")]
    try:
        for server in started:
            server.data_dir.mkdir()
            server.start()
        yield started
    finally:
        for server in started:
            if server.running:
                server.stop()


def ready_key(server: Server) -> str:
    """A new organization's API key, once its database is ready (polled with a token, so
    that the key's budget is untouched)."""
    email = f"limits.{uuid.uuid4().hex[:8]}@example.com"
    registered = httpx.post(
        f"{server.url}/v1/register/", json={"email": email, "password": PASSWORD}
    ).json()
    login = {"email": email, "password": PASSWORD, "db_id": registered["database"]["id"]}
    token = httpx.post(f"{server.url}/v1/login/individual/", json=login).json()["token"]
    deadline = time.monotonic() + 30
    while True:
        status = httpx.get(
            f"{server.url}/v1/databases/current/status/",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["status"]
        if status == "ready":
            return str(registered["api_key"])
        assert time.monotonic() < deadline, f"database still {status}"
        time.sleep(0.05)


def test_two_processes_share_one_budget(servers: list[Server]) -> None:
    key = {"X-API-Key": ready_key(servers[0])}
    answers = [httpx.get(f"{servers[n % 2].url}/v1/spaces", headers=key) for n in range(10)]
    statuses = [response.status_code for response in answers]
    assert statuses == [200] * 5 + [429] * 5
    assert [r.headers["RateLimit-Remaining"] for r in answers[:5]] == ["4", "3", "2", "1", "0"]
    for response in answers[5:]:
        assert response.json()["code"] == "RATE_LIMIT_EXCEEDED"
        assert int(response.headers["Retry-After"]) >= 1
