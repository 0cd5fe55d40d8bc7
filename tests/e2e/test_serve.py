"""`tenantry serve` and the CLI as real processes: first start, restarts, crashes."""

import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
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


def test_a_busy_port_is_said_in_one_line_before_anything_starts(
    env: dict[str, str], tmp_path: Path
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = tenantry(
            "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), env=env
        )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"127.0.0.1:{port} is in use (another server?): stop it, or choose another with --port"
    ]
    assert not (tmp_path / "data" / "pg").exists()  # no embedded PostgreSQL was set up


def read_until(fd: int, end: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while end not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            seen += os.read(fd, 65536)
    return seen


def test_on_a_terminal_it_says_where_it_is_and_logs_text(server: Server) -> None:
    server.env.pop("TENANTRY_LOG_FORMAT")
    arguments = ["serve", "--port", str(server.port), "--data-dir", str(server.data_dir)]
    terminal, its_side = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tenantry", *arguments],
        env=server.env | {"COLUMNS": "120"},
        stdin=its_side,
        stdout=its_side,
        stderr=its_side,
    )
    os.close(its_side)
    try:
        shown = read_until(terminal, b"Ctrl-C stops it.", 240).decode()
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        logged = read_until(terminal, b"path=/healthz", 60).decode()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        os.close(terminal)
    assert "Tenantry 0.1.0: starting on" in shown
    assert f"  API    {server.url}/\r\n" in shown
    assert f"  admin  {server.url}/admin/\r\n" in shown
    assert f"  docs   {server.url}/docs\r\n" in shown
    assert "  data   " in shown
    assert "INFO tenantry.request request" in logged
    assert "status=200" in logged
    assert '{"time"' not in shown + logged


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
