"""One real `tenantry serve` process for the fuzzing suites."""

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.server import Server, environment, postgres_processes


@pytest.fixture(scope="package")
def served() -> Iterator[Server]:
    """`tenantry serve` on its embedded PostgreSQL. Rate limits are off: a fuzzer's
    thousands of requests with one key (and registrations from one address) would
    otherwise spend the run on 429s; they have tests of their own. Access tokens last an
    hour, longer than the suites; a body must arrive within 3 seconds (the slow-loris
    test)."""
    env = environment() | {
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
    if server.running:
        server.stop()
    for pid in postgres_processes(server.data_dir):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)
