"""Debian's PgBouncer in transaction mode, in front of a PostgreSQL server, as a process of
its own: what `Settings.pooled` is tested through."""

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.utils.server import free_port

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
UNPRIVILEGED = ("pgserver", "nobody")  # PgBouncer refuses to run as root
START_TIMEOUT = 30.0


def require_pgbouncer() -> None:
    if not Path(BINARY).exists():
        pytest.skip("PgBouncer is not installed (Debian's package `pgbouncer`)")


def version() -> str:
    """`1.18.0` for Debian 12's."""
    out = subprocess.run([BINARY, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


class PgBouncer:
    """PgBouncer on a port of 127.0.0.1, every database of `server_url`'s server behind
    it, each server connection started with `connect_query`."""

    def __init__(self, folder: Path, server_url: str, connect_query: str) -> None:
        self.folder = folder
        self.server_url = server_url
        self.connect_query = connect_query
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database_url: str) -> str:
        """`database_url` (a database on the server), through PgBouncer."""
        parts = urlsplit(database_url)
        return f"postgresql://{parts.username or 'postgres'}@127.0.0.1:{self.port}{parts.path}"

    def config(self) -> str:
        server = urlsplit(self.server_url)
        host = parse_qs(server.query).get("host", [server.hostname or "127.0.0.1"])[0]
        user = server.username or "postgres"
        return f"""\
[databases]
* = host={host} port={server.port or 5432} user={user} connect_query='{self.connect_query}'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 5
server_idle_timeout = 5
max_client_conn = 2000
server_reset_query =
logfile = {self.folder / "pgbouncer.log"}
pidfile = {self.folder / "pgbouncer.pid"}
"""

    def start(self) -> None:
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(self.config())
        user = _unprivileged() if os.geteuid() == 0 else None
        if user is not None:
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.process = subprocess.Popen(
            [BINARY, str(ini)],
            user=None if user is None else user.pw_uid,
            group=None if user is None else user.pw_gid,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while "listening on" not in self.log() or "127.0.0.1" not in self.log():
            assert self.process.poll() is None, self.log()[-3000:]
            assert time.monotonic() < deadline, self.log()[-3000:]
            time.sleep(0.1)

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _unprivileged() -> pwd.struct_passwd:
    for name in UNPRIVILEGED:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise AssertionError("no unprivileged user to run PgBouncer as")
