"""kill -9 in the middle of provisioning, dropping and `tenantry migrate`: after a restart
every database is ready and every schema at head; nothing is ever half done."""

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from pathlib import Path

import asyncpg
import httpx
import pytest

from tenantry.db.migrate import head
from tests.utils.factories import PASSWORD, unique_email
from tests.utils.postgres import create_database, drop_database
from tests.utils.server import Server, tenantry
from tests.utils.worker import OUTDATE_POOL

pytestmark = pytest.mark.slow
PROVISION_POINTS = ["provision.locked", "provision.schema_ready", "provision.copied"]
SECRET = "crash-test-secret-that-is-long-enough-0123456789"


@pytest.fixture
async def crash_db(postgres_server: str) -> AsyncIterator[str]:
    """A database of its own, so no other worker (the test app's) touches its jobs."""
    url = await create_database(postgres_server)
    yield url
    await drop_database(url)


@pytest.fixture
def crash_env(env: dict[str, str], crash_db: str) -> dict[str, str]:
    return env | {"TENANTRY_DATABASE_URL": crash_db, "TENANTRY_SECRET_KEY": SECRET}


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.running:
            server.stop(signal.SIGKILL)


def _server(tmp_path: Path, env: dict[str, str], servers: list[Server], **extra: str) -> Server:
    server = Server(tmp_path / "data", env | extra)
    servers.append(server)
    return server


def fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(url)
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    return asyncio.run(run())


def _register(server: Server) -> dict[str, object]:
    response = httpx.post(
        f"{server.url}/v1/register/",
        json={"email": unique_email("crash"), "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def _wait_ready(server: Server, api_key: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = httpx.get(
            f"{server.url}/v1/databases/current/status/", headers={"X-API-Key": api_key}
        ).json()
        if status["status"] == "ready":
            return
        assert status["status"] == "pending", status
        time.sleep(0.05)
    raise AssertionError("the database never became ready")


def _killed_at(server: Server, point: str) -> None:
    assert server.process is not None
    code = server.process.wait(timeout=90)
    assert code == -signal.SIGKILL, f"expected death at {point}:\n{server.log.read_text()[-2000:]}"


@pytest.mark.parametrize("pool", ["0", "2"])
@pytest.mark.parametrize(
    "point", ["provision.locked", "provision.schema_ready", "provision.copied"]
)
def test_provisioning_survives_kill_9(
    tmp_path: Path,
    crash_env: dict[str, str],
    crash_db: str,
    servers: list[Server],
    point: str,
    pool: str,
) -> None:
    base = {"TENANTRY_WARM_POOL_SIZE": pool}
    queued = _server(tmp_path, crash_env, servers, TENANTRY_WORKER="false", **base)
    queued.start()
    fetch(crash_db, OUTDATE_POOL)  # a current pool schema would make it ready with no job
    body = _register(queued)
    queued.stop()
    database = body["database"]
    assert isinstance(database, dict)

    crashing = _server(tmp_path, crash_env, servers, TENANTRY_FAILPOINTS=point, **base)
    crashing.start(wait=False)
    _killed_at(crashing, point)
    rows = fetch(crash_db, "SELECT status FROM tenantry.databases WHERE id = $1", database["id"])
    assert rows[0]["status"] == "pending"

    healthy = _server(tmp_path, crash_env, servers, **base)
    healthy.start()
    _wait_ready(healthy, str(body["api_key"]))
    schemas = fetch(
        crash_db,
        "SELECT s.version FROM tenantry.schemas s JOIN tenantry.databases d "
        "ON d.schema_name = s.name WHERE d.id = $1",
        database["id"],
    )
    assert [row["version"] for row in schemas] == [head("tenant")]
    healthy.stop()


def test_dropping_survives_kill_9(
    tmp_path: Path, crash_env: dict[str, str], crash_db: str, servers: list[Server]
) -> None:
    first = _server(tmp_path, crash_env, servers)
    first.start()
    body = _register(first)
    _wait_ready(first, str(body["api_key"]))
    first.stop()
    rows = fetch(crash_db, "SELECT schema_name FROM tenantry.databases")
    schema = rows[0]["schema_name"]

    crashing = _server(tmp_path, crash_env, servers, TENANTRY_FAILPOINTS="drop.dropped")
    crashing.start()
    headers = {"Authorization": f"Bearer {body['token']}"}
    with suppress(httpx.TransportError):  # the worker may die before the answer is sent
        httpx.delete(f"{crashing.url}/v1/databases/current/", headers=headers, timeout=30)
    _killed_at(crashing, "drop.dropped")
    assert fetch(crash_db, "SELECT 1 FROM tenantry.databases") == []
    healthy = _server(tmp_path, crash_env, servers)
    healthy.start()
    deadline = time.monotonic() + 30
    while fetch(crash_db, "SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
        assert time.monotonic() < deadline, "the schema was never dropped"
        time.sleep(0.05)
    assert fetch(crash_db, "SELECT 1 FROM tenantry.schemas WHERE name = $1", schema) == []
    healthy.stop()


def test_migrate_survives_kill_9(crash_env: dict[str, str], crash_db: str) -> None:
    migrated = tenantry("migrate", env=crash_env)
    assert migrated.returncode == 0, migrated.stderr
    count = 400
    names = [f"crash_{index:06d}" for index in range(count)]
    fetch(  # registered and empty: the migrator builds them from nothing
        crash_db,
        f"DO $$ BEGIN FOR i IN 0..{count - 1} LOOP EXECUTE format('CREATE SCHEMA %I', "
        "'crash_' || lpad(i::text, 6, '0')); END LOOP; END $$",
    )
    register = "INSERT INTO tenantry.schemas (name, kind) SELECT unnest($1::text[]), 'pool'"
    fetch(crash_db, register, names)

    process = subprocess.Popen(
        [sys.executable, "-m", "tenantry", "migrate", "--concurrency", "2"],
        env=crash_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    at_head = "SELECT count(*) AS n FROM tenantry.schemas WHERE name LIKE 'crash%' AND version = $1"
    deadline = time.monotonic() + 60
    while (fetch(crash_db, at_head, head("tenant")))[0]["n"] < 20:
        assert time.monotonic() < deadline
        assert process.poll() is None, "migrate finished before it could be killed"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()

    done = (fetch(crash_db, at_head, head("tenant")))[0]["n"]
    assert 20 <= done < count
    tables = fetch(
        crash_db,
        "SELECT s.name, s.version, count(t.tablename) AS tables FROM tenantry.schemas s "
        "LEFT JOIN pg_tables t ON t.schemaname = s.name WHERE s.name LIKE 'crash%' "
        "GROUP BY s.name, s.version",
    )
    full = max(row["tables"] for row in tables)
    for row in tables:  # each schema is either untouched or complete, never in between
        assert (row["version"], row["tables"]) in ((None, 0), (head("tenant"), full)), row

    rerun = tenantry("migrate", env=crash_env)
    assert rerun.returncode == 0, rerun.stderr
    assert (fetch(crash_db, at_head, head("tenant")))[0]["n"] == count
    check = tenantry("migrate", "--check", env=crash_env)
    assert check.returncode == 0, check.stdout + check.stderr
