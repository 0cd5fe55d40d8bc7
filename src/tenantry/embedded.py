"""The embedded PostgreSQL: the server shipped in the `pgserver` wheel, run in a data folder.

Only pgserver's binaries are used; starting, adopting and stopping are done here so that
a server left behind by a killed `tenantry serve` (or a killed postmaster) is recovered.
"""

import hashlib
import importlib.util
import logging
import os
import pwd
import stat
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SYSTEM_USER = "pgserver"  # PostgreSQL refuses to run as root
SOCKET_NAME = ".s.PGSQL.5432"
MAX_SOCKET_PATH = 100
START_TIMEOUT = 300


class EmbeddedPostgresError(RuntimeError):
    pass


def _binaries() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        raise EmbeddedPostgresError("the pgserver package is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


class EmbeddedPostgres:
    """A PostgreSQL cluster in `<data_dir>/pg`, listening only on a unix socket."""

    def __init__(
        self, data_dir: Path, database: str = "tenantry", settings: Mapping[str, str] = {}
    ) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.pgdata = self.data_dir / "pg"
        self.database = database
        self.settings = {"max_connections": "200", "max_locks_per_transaction": "256", **settings}
        self.bin = _binaries()
        self.run_as = self._system_user()

    @property
    def socket_dir(self) -> Path:
        if len(str(self.pgdata / SOCKET_NAME)) <= MAX_SOCKET_PATH:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"tenantry-pg-{digest}"

    def url(self, database: str | None = None) -> str:
        return f"postgresql://postgres@/{database or self.database}?host={self.socket_dir}"

    def start(self) -> bool:
        """Make sure the server accepts connections; returns True when this call started it."""
        self._init_cluster()
        started = False
        failure: subprocess.CalledProcessError | None = None
        deadline = time.monotonic() + START_TIMEOUT
        while not self.is_accepting():
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(self._start_failure(failure))
            if self.is_running():  # starting up or replaying its log after a crash
                time.sleep(0.2)
                continue
            try:
                self._pg_ctl(
                    "start",
                    "-w",
                    "-t",
                    str(START_TIMEOUT),
                    "-l",
                    str(self.log),
                    "-o",
                    f"-h '' -k {self.socket_dir}",
                )
                started = True
            except subprocess.CalledProcessError as error:
                # A killed postmaster's backends may hold its shared memory for a moment.
                failure = error
                time.sleep(1)
        self._ensure_database()
        return started

    def stop(self) -> None:
        if self.is_running():
            self._pg_ctl("stop", "-w", "-m", "fast", "-t", "60")

    def is_running(self) -> bool:
        result = self._run(self.bin / "pg_ctl", "-D", str(self.pgdata), "status", check=False)
        return result.returncode == 0

    def is_accepting(self) -> bool:
        result = self._run(
            self.bin / "pg_isready",
            "-q",
            "-h",
            str(self.socket_dir),
            "-U",
            "postgres",
            "-d",
            "postgres",
            check=False,
        )
        return result.returncode == 0

    def _init_cluster(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.run_as is not None:
            self._grant_access()
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self.run_as is not None:
            user = pwd.getpwnam(self.run_as)
            os.chown(self.pgdata, user.pw_uid, user.pw_gid)
        self._run(
            self.bin / "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n# tenantry\n")
            conf.writelines(f"{name} = {value}\n" for name, value in self.settings.items())

    def _ensure_database(self) -> None:
        exists = self._psql("SELECT 1 FROM pg_database WHERE datname = :'name'", self.database)
        if exists.strip() != "1":
            self._run(
                self.bin / "createdb", "-h", str(self.socket_dir), "-U", "postgres", self.database
            )

    def _psql(self, sql: str, name: str) -> str:
        result = self._run(
            self.bin / "psql",
            "-h",
            str(self.socket_dir),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-XAtq",
            "-v",
            f"name={name}",
            input=sql,
        )
        return result.stdout

    def _pg_ctl(self, *args: str) -> None:
        self._run(self.bin / "pg_ctl", "-D", str(self.pgdata), *args)

    def _run(
        self,
        *args: str | Path,
        check: bool = True,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        identity: dict[str, Any] = {}
        if self.run_as is not None:
            user = pwd.getpwnam(self.run_as)
            identity = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        try:
            return subprocess.run(
                [str(arg) for arg in args],
                check=check,
                capture_output=True,
                text=True,
                input=input,
                timeout=600,
                **identity,
            )
        except subprocess.CalledProcessError as error:
            if Path(args[0]).name == "pg_ctl":
                raise
            raise EmbeddedPostgresError(
                f"{Path(args[0]).name} failed: {error.stderr.strip()}"
            ) from error

    @property
    def log(self) -> Path:
        return self.pgdata / "log"

    def _start_failure(self, error: subprocess.CalledProcessError | None) -> str:
        tail = self.log.read_text(errors="replace").splitlines()[-20:] if self.log.exists() else []
        stderr = error.stderr if error is not None else "timed out"
        return "embedded PostgreSQL did not start:\n" + "\n".join([stderr, *tail])

    def _system_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SYSTEM_USER,
                ],
                check=True,
                capture_output=True,
            )
        return SYSTEM_USER

    def _grant_access(self) -> None:
        """Let the unprivileged server user reach its folders and the binaries."""
        user = pwd.getpwnam(SYSTEM_USER)
        for path in (self.pgdata, self.socket_dir, self.bin):
            for parent in path.parents:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(mode | stat.S_IXOTH)
        socket_dir = self.socket_dir
        if socket_dir != self.pgdata:
            os.chown(socket_dir, user.pw_uid, user.pw_gid)
