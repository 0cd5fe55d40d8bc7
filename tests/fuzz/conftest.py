"""One real `tenantry serve` process for the fuzzing suites, and a database ready in it."""

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_serve import Server, postgres_processes

PASSWORD = "fuzzing correct horse battery"


@dataclass
class Tenant:
    """An organization registered through the API, its database ready."""

    email: str
    api_key: str
    token: str
    refresh_token: str
    db_id: str

    @property
    def key(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="package")
def served() -> Iterator[Server]:
    """`tenantry serve` on its embedded PostgreSQL. Rate limits are off: a fuzzer's
    thousands of requests with one key (and registrations from one address) would
    otherwise spend the run on 429s; they have tests of their own. Access tokens last an
    hour, longer than the suites; a body must arrive within 3 seconds (the slow-loris
    test)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    env |= {
        "TENANTRY_LOG_FORMAT": "json",
        "TENANTRY_RATE_LIMIT": "none",
        "TENANTRY_REGISTRATION_LIMIT": "none",
        "TENANTRY_ACCESS_TOKEN_TTL": "PT1H",
        "TENANTRY_BODY_TIMEOUT": "3",
    }
    # Not under pytest's temporary folder: another pytest run on the machine prunes old
    # ones, and would take the data folder from under the running server.
    folder = Path(tempfile.mkdtemp(prefix="tenantry-fuzz-"))
    server = Server(folder / "data", env)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()
    for pid in postgres_processes(server.data_dir):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def register(base: str, local: str) -> Tenant:
    email = f"{local}.{time.monotonic_ns()}@example.com"
    response = httpx.post(f"{base}/v1/register/", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    tenant = Tenant(
        email=email,
        api_key=body["api_key"],
        token=body["token"],
        refresh_token=body["refresh_token"],
        db_id=body["database"]["id"],
    )
    deadline = time.monotonic() + 30
    status = f"{base}/v1/databases/current/status/"
    while httpx.get(status, headers=tenant.key).json() != {"status": "ready"}:
        assert time.monotonic() < deadline, "the database did not become ready"
        time.sleep(0.05)
    return tenant
