"""What every benchmark shares: scratch databases, timing, results, the machine."""

import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.table import Table

from tenantry.embedded import EmbeddedPostgres

RESULTS = Path(__file__).parent / "results"
SECRET = "bench-secret-that-is-long-enough-0123456789abcdef"  # noqa: S105  (scratch)
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
console = Console()


def server_url() -> str:
    """The PostgreSQL server benchmarks make their scratch databases on."""
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER)


# The benchmark's own cluster holds 10,000 schemas' catalogs in its buffers and writes them
# out at its own pace (in memory, nothing waits on a disk either way); no autovacuum
# wakes up during the measured runs to go over the catalogs the fill just grew.
MEMORY_SETTINGS = {
    "shared_buffers": "2GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "off",
}


@contextmanager
def postgres_server(prefix: str) -> Iterator[tuple[str, Path | None]]:
    """(URL, log) of the PostgreSQL server to use: BENCH_DATABASE_URL's (no log known), or,
    when it is unset, a cluster of the benchmark's own (the embedded server's binaries) in
    a folder in memory, removed afterwards. In memory, making thousands of schemas does
    not wait on the file system creating their hundreds of thousands of files."""
    if "BENCH_DATABASE_URL" in os.environ:
        yield server_url(), None
        return
    shared = Path("/dev/shm")  # noqa: S108  (a private folder is made in it)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=shared if shared.is_dir() else None))
    server = EmbeddedPostgres(folder, database="postgres", settings=MEMORY_SETTINGS)
    try:
        server.start()
        yield server.url(), server.log
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def database_url(server: str, name: str) -> str:
    base, _, query = server.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


async def create_database(server: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return database_url(server, name)


async def drop_database(server: str, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [value * 1000 for value in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.5), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
    }


def machine(server: str) -> dict[str, Any]:
    async def server_version() -> str:
        connection = await asyncpg.connect(server)
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "postgresql": asyncio.run(server_version()),
        "tenantry": version("tenantry"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }


def write_results(name: str, figures: dict[str, Any], server: str | None = None) -> Path:
    """Write the figures, with the machine's and `server`'s (default: server_url()) versions."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    body = {"benchmark": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **figures}
    body["machine"] = machine(server or server_url())
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = Table(*headers, title=title)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console.print(table)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TenantryServer:
    """`tenantry serve` on a scratch database, as a process of its own; `env` adds to (or
    overrides) its environment."""

    def __init__(self, database_url: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = os.environ | {
            "TENANTRY_DATABASE_URL": database_url,
            "TENANTRY_SECRET_KEY": SECRET,
            "TENANTRY_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning"),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tenantry", "serve", "--port", str(self.port)],
            env=environment | (env or {}),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"tenantry serve did not start; see {log}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
