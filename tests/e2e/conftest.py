import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.browser import ARTIFACTS, CHROMIUM
from tests.utils.postgres import create_database, drop_database
from tests.utils.server import Server, environment, postgres_processes
from tests.utils.settings import SUITE_REGISTRATION_LIMIT


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


@pytest.fixture
def env() -> dict[str, str]:
    """The environment of a `tenantry` process: this one's, without any TENANTRY_ setting."""
    return environment() | {
        "TENANTRY_LOG_FORMAT": "json",
        "TENANTRY_REGISTRATION_LIMIT": SUITE_REGISTRATION_LIMIT,
    }


@pytest.fixture
def server(
    tmp_path: Path, env: dict[str, str], database_url_for_serve: str | None
) -> Iterator[Server]:
    if database_url_for_serve is not None:
        env["TENANTRY_DATABASE_URL"] = database_url_for_serve
        env["TENANTRY_SECRET_KEY"] = "e2e-secret-that-is-long-enough-0123456789"
    server = Server(tmp_path / "data", env)
    yield server
    if server.running:
        server.stop()
    for pid in postgres_processes(server.data_dir):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
async def database_url_for_serve(postgres_server: str) -> Iterator[str | None]:  # type: ignore[misc]
    if not os.environ.get("TENANTRY_TEST_DATABASE_URL"):
        yield None
        return
    url = await create_database(postgres_server)
    yield url
    await drop_database(url)
