"""`tenantry serve` and the CLI as real processes: first start, restarts, crashes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.data.test_template import DOCUMENT, _filled

pytestmark = pytest.mark.slow
EMBEDDED_ONLY = pytest.mark.skipif(
    bool(os.environ.get("TENANTRY_TEST_DATABASE_URL")),
    reason="exercises the embedded PostgreSQL",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tenantry(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenantry", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class Server:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.port = free_port()
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tenantry",
                    "serve",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                env=self.env,
                stdout=log,
                stderr=log,
            )
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready:\n{self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGINT) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)


def postgres_processes(data_dir: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                cmdline
                and cmdline[0].endswith(b"/postgres")
                and str(data_dir).encode() in b" ".join(cmdline)
            ):
                found.append(int(entry.name))
    return found


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
    assert _filled(json.loads(dumped.stdout)) == DOCUMENT


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
