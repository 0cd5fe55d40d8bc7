"""`tenantry serve` and the CLI as real processes: first start, restarts, crashes."""

import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.utils.server import Server, free_port, postgres_processes, tenantry
from tests.utils.template import DOCUMENT, filled

pytestmark = pytest.mark.slow
EMBEDDED_ONLY = pytest.mark.skipif(
    bool(os.environ.get("TENANTRY_TEST_DATABASE_URL")),
    reason="exercises the embedded PostgreSQL",
)


def test_first_start_needs_no_configuration(server: Server) -> None:
    server.start()
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    response = httpx.get(f"{server.url}/missing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert server.stop() == 0
    lines = [
        json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")
    ]
    requests = [line for line in lines if line["message"] == "request"]
    assert {(r["path"], r["status"]) for r in requests} >= {("/healthz", 200), ("/missing", 404)}


def test_restart_keeps_data(server: Server, tmp_path: Path) -> None:
    document = tmp_path / "template.json"
    document.write_text(json.dumps(DOCUMENT))
    server.start()
    loaded = tenantry(
        "template", "load", str(document), "--data-dir", str(server.data_dir), env=server.env
    )
    assert loaded.returncode == 0, loaded.stderr
    assert server.stop(signal.SIGTERM) == 0
    server.start()
    dumped = tenantry("template", "dump", "--data-dir", str(server.data_dir), env=server.env)
    assert dumped.returncode == 0, dumped.stderr
    assert filled(json.loads(dumped.stdout)) == DOCUMENT


@EMBEDDED_ONLY
def test_clean_stop_stops_the_embedded_postgres(server: Server) -> None:
    server.start()
    assert postgres_processes(server.data_dir)
    assert server.stop(signal.SIGINT) == 0
    assert postgres_processes(server.data_dir) == []


@EMBEDDED_ONLY
def test_kill_9_then_restart(server: Server) -> None:
    server.start()
    server.stop(signal.SIGKILL)
    assert postgres_processes(server.data_dir), "the embedded PostgreSQL outlives its parent"
    server.start()
    assert server.stop() == 0
    assert postgres_processes(server.data_dir) == []


@EMBEDDED_ONLY
def test_kill_9_of_server_and_postgres_then_restart(server: Server) -> None:
    server.start()
    server.stop(signal.SIGKILL)
    for pid in postgres_processes(server.data_dir):
        os.kill(pid, signal.SIGKILL)
    server.start()
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    assert server.stop() == 0


@EMBEDDED_ONLY
def test_second_server_on_the_same_data_dir_is_refused(server: Server) -> None:
    server.start()
    second = tenantry(
        "serve", "--port", str(free_port()), "--data-dir", str(server.data_dir), env=server.env
    )
    assert second.returncode == 1
    assert "another `tenantry serve`" in second.stderr
    assert httpx.get(f"{server.url}/readyz").status_code == 200


def test_refuses_to_start_without_a_secret(env: dict[str, str], tmp_path: Path) -> None:
    env["TENANTRY_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/x"
    result = tenantry("serve", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "TENANTRY_SECRET_KEY must be set" in result.stderr


def test_check_and_migrate(server: Server) -> None:
    server.start()
    migrated = tenantry("migrate", "--data-dir", str(server.data_dir), env=server.env)
    assert migrated.returncode == 0, migrated.stderr
    checked = tenantry("check", "--data-dir", str(server.data_dir), env=server.env)
    assert checked.returncode == 0, checked.stderr
    assert "at head" in checked.stdout


def test_template_load_rejects_a_bad_file(server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"spaces": [{"name": 1}]}')
    server.start()
    result = tenantry(
        "template", "load", str(bad), "--data-dir", str(server.data_dir), env=server.env
    )
    assert result.returncode == 2
    assert "spaces.name" in result.stderr
