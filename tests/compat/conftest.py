"""One `tenantry serve` for the whole compat package, driven by the official client `xminds`.

The server runs on its embedded PostgreSQL, or on a fresh database on the server named by
TENANTRY_TEST_DATABASE_URL, as the e2e tests run theirs.
"""

import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from xminds.api.client import CrossingMindsApiClient

from tests.utils.postgres import create_database, drop_database, plain_url
from tests.utils.server import Server, environment, postgres_processes
from tests.utils.settings import SUITE_REGISTRATION_LIMIT
from tests.utils.xminds import (
    ID_KINDS,
    IdKind,
    Logins,
    Org,
    install_xminds_06,
    register,
)


@pytest.fixture(scope="package")
async def compat_database_url() -> AsyncIterator[str | None]:
    """A fresh database on TENANTRY_TEST_DATABASE_URL's server; None: serve's embedded one."""
    external = os.environ.get("TENANTRY_TEST_DATABASE_URL")
    if not external:
        yield None
        return
    url = await create_database(plain_url(external))
    yield url
    await drop_database(url)


@pytest.fixture(scope="package")
def compat_server(
    tmp_path_factory: pytest.TempPathFactory, compat_database_url: str | None
) -> Iterator[Server]:
    env = environment() | {
        "TENANTRY_LOG_FORMAT": "json",
        "TENANTRY_REGISTRATION_LIMIT": SUITE_REGISTRATION_LIMIT,
        # a mail links to an `email_redirect_url` only on a host allowed (test_accounts.py)
        "TENANTRY_MAIL_REDIRECT_HOSTS": "example.com",
    }
    if compat_database_url is not None:
        env["TENANTRY_DATABASE_URL"] = compat_database_url
        env["TENANTRY_SECRET_KEY"] = "compat-secret-that-is-long-enough-0123456789"
    server = Server(tmp_path_factory.mktemp("compat") / "data", env)
    server.start()
    yield server
    if server.running:
        server.stop()
    for pid in postgres_processes(server.data_dir):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="package")
def url(compat_server: Server) -> str:
    return compat_server.url


@pytest.fixture(scope="package")
def server_log(compat_server: Server) -> Path:
    return compat_server.log


@pytest.fixture
def org(url: str) -> Org:
    """A new organization on the server."""
    return register(url)


@pytest.fixture(params=list(ID_KINDS))
def kind(request: pytest.FixtureRequest) -> IdKind:
    """Each id type the suite covers, for items, users and sessions alike."""
    found: IdKind = ID_KINDS[request.param]
    return found


@pytest.fixture(scope="package")
def logins(url: str) -> Logins:
    """Clients of one organization of the session, logged in to new databases of theirs."""
    return Logins(register(url, "shared"))


@pytest.fixture
def api(logins: Logins, kind: IdKind) -> CrossingMindsApiClient:
    """The client, logged in as root to a new ready database whose ids are all of `kind`."""
    return logins.new_database_client(kind, kind, kind)


@pytest.fixture(scope="package")
def xminds_06() -> Path:
    """xminds 0.6, installed once under .venv/compat/: the folder to put on PYTHONPATH."""
    return install_xminds_06()


@pytest.fixture(autouse=True)
def error_data_complete(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """The client prints "Missing key 'type' in ``error_extra_data``" (and "unknown error
    code") to its user's stdout when an error's `error_data` lacks what it formats: none may
    be printed."""
    yield
    out = capsys.readouterr().out
    assert "Missing key" not in out, out
    assert "unknown error code" not in out, out
    assert "Unexpected error formatting" not in out, out
