import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import SUITE_REGISTRATION_LIMIT
from tests.e2e.test_serve import Server, postgres_processes

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots of the browser tests


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


class OnlyThisServer:
    """A page's route handler: requests to the server under test go through; any other is
    refused and kept in `elsewhere`, which a test asserts is empty."""

    def __init__(self, base: str) -> None:
        self.host = urlsplit(base).netloc
        self.elsewhere: list[str] = []

    def __call__(self, route: Any) -> None:
        if urlsplit(route.request.url).netloc == self.host:
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort()


@pytest.fixture
def env() -> dict[str, str]:
    """The environment of a `tenantry` process: this one's, without any TENANTRY_ setting."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    environment["TENANTRY_LOG_FORMAT"] = "json"
    environment["TENANTRY_REGISTRATION_LIMIT"] = SUITE_REGISTRATION_LIMIT
    return environment


@pytest.fixture
def server(
    tmp_path: Path, env: dict[str, str], database_url_for_serve: str | None
) -> Iterator[Server]:
    if database_url_for_serve is not None:
        env["TENANTRY_DATABASE_URL"] = database_url_for_serve
        env["TENANTRY_SECRET_KEY"] = "e2e-secret-that-is-long-enough-0123456789"
    server = Server(tmp_path / "data", env)
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()
    for pid in postgres_processes(server.data_dir):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
async def database_url_for_serve(postgres_server: str) -> Iterator[str | None]:  # type: ignore[misc]
    if not os.environ.get("TENANTRY_TEST_DATABASE_URL"):
        yield None
        return
    from tests.conftest import create_database, drop_database

    url = await create_database(postgres_server)
    yield url
    await drop_database(url)


def ready_key(base: str, email: str) -> str:
    """Register an organization on the server at `base`; its API key, once its database
    is ready."""
    registered = httpx.post(f"{base}/v1/register/", json={"email": email, "password": "p" * 12})
    key = str(registered.json()["api_key"])
    deadline = time.monotonic() + 30
    while httpx.get(f"{base}/v1/databases/current/status/", headers={"X-API-Key": key}).json() != {
        "status": "ready"
    }:
        assert time.monotonic() < deadline, "the database did not become ready"
        time.sleep(0.05)
    return key
