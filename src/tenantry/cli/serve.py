"""`tenantry serve`."""

import errno
import fcntl
import http.client
import ipaddress
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from tenantry import __version__
from tenantry.cli.common import DataDir, console, reachable_database, settings_from, with_engine
from tenantry.cli.migrate import migrate_everything
from tenantry.config import Settings
from tenantry.db.migrate import upgrade_all
from tenantry.protocol import protocol

FILES_BESIDES_CONNECTIONS = 256  # database pools, Redis, the listening socket, logs
READY_WAIT = 300  # seconds the banner waits for /readyz before giving up on it


@contextmanager
def _exclusive(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "serve.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print(f"[red]another `tenantry serve` is using {data_dir}[/red]")
            raise typer.Exit(1) from None
        yield


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """Several workers write their metrics to files in one folder, which a scrape adds up
    (the Prometheus client's multiprocess mode): a folder of this run's, or the one
    PROMETHEUS_MULTIPROC_DIR names, emptied first (what a previous run left is not this
    run's). One worker keeps them in memory."""
    if workers == 1 and METRICS_DIR not in os.environ:
        yield
        return
    given = os.environ.get(METRICS_DIR)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="tenantry-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[METRICS_DIR] = str(folder)
    try:
        yield
    finally:
        if not given:
            shutil.rmtree(folder, ignore_errors=True)


def _fit_open_files(max_connections: int) -> None:
    """Let the process hold `max_connections` and its other files: raise its soft limit
    of open files (often 1024) as far as the hard limit allows, as Go's runtime does."""
    wanted = max_connections + FILES_BESIDES_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
    if raised < wanted:
        console.print(
            f"[yellow]open files are limited to {hard} (ulimit -Hn): fewer than "
            f"TENANTRY_MAX_CONNECTIONS ({max_connections}) + {FILES_BESIDES_CONNECTIONS}; "
            "past them, connections fail instead of being refused[/yellow]"
        )


def _refuse_a_busy_port(host: str, port: int) -> None:
    """Say so in one line, before anything starts, when nothing can listen there."""
    try:
        socket.create_server((host, port)).close()  # SO_REUSEADDR, as uvicorn binds
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            reason = "is in use (another server?): stop it, or choose another with --port"
        else:
            reason = f"cannot be listened on: {error.strerror}"
        console.print(f"[red]{host}:{port} {reason}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _where_the_data_is(settings: Settings) -> str:
    if settings.embedded:
        return f"{settings.data_dir.resolve()} (embedded PostgreSQL)"
    url = settings.database_url or ""
    return f"PostgreSQL at {url.rpartition('@')[2]}"


def _reachable(host: str) -> str:
    """Where this machine reaches a server listening on `host` (every address: loopback)."""
    try:
        every_address = ipaddress.ip_address(host).is_unspecified
    except ValueError:  # a name
        return host
    return "127.0.0.1" if every_address else host


def _banner(settings: Settings) -> str:
    base = f"http://{_reachable(settings.host)}:{settings.port}"
    return (
        f"\n[bold green]Tenantry {__version__} is ready[/bold green]\n"
        f"  API    {base}/\n"
        f"  admin  {base}/admin/\n"
        f"  docs   {base}/docs\n"
        f"  data   {_where_the_data_is(settings)}\n"
        "Ctrl-C stops it.\n"
    )


def _announce_when_ready(settings: Settings) -> None:
    """Print the banner once `/readyz` answers 200, whatever the number of workers."""
    host = _reachable(settings.host)
    deadline = time.monotonic() + READY_WAIT
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(host, settings.port, timeout=2)
        try:
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                console.print(_banner(settings), highlight=False)
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # a requested, graceful stop


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the API server.

    On an embedded PostgreSQL in the data folder unless TENANTRY_DATABASE_URL is set.
    """
    settings = settings_from(host=host, port=port, workers=workers, data_dir=data_dir)
    _refuse_a_busy_port(settings.host, settings.port)
    on_terminal = sys.stderr.isatty()
    if on_terminal and "log_format" not in settings.model_fields_set:
        os.environ["TENANTRY_LOG_FORMAT"] = "text"  # a person reads them, not a collector
    if on_terminal:
        starting = f"Tenantry {__version__}: starting on {_where_the_data_is(settings)}"
        console.print(starting, highlight=False, soft_wrap=True)
    lock = _exclusive(settings.data_dir) if settings.embedded else _no_lock()
    with lock, reachable_database(settings, owner=True) as ready:
        if ready.migrate_on_start:
            if migrate_everything(ready, quiet=True):
                raise typer.Exit(1)
        else:
            with_engine(ready, upgrade_all)
        assert ready.database_url is not None
        assert ready.secret_key is not None
        os.environ["TENANTRY_DATABASE_URL"] = ready.database_url
        os.environ["TENANTRY_SECRET_KEY"] = ready.secret_key.get_secret_value()
        os.environ["TENANTRY_DATA_DIR"] = str(ready.data_dir)
        # uvicorn re-raises the signal it stopped on; make SIGTERM unwind like Ctrl-C so
        # that the embedded PostgreSQL is stopped on the way out.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        _fit_open_files(ready.max_connections)
        if on_terminal:
            threading.Thread(target=_announce_when_ready, args=(settings,), daemon=True).start()
        with _shared_metrics(ready.workers):
            _run(ready)


def _run(ready: Settings) -> None:
    uvicorn.run(
        "tenantry.app:create_app",
        factory=True,
        host=ready.host,
        port=ready.port,
        workers=ready.workers,
        log_config=None,
        access_log=False,
        server_header=False,
        http=protocol(header_timeout=ready.header_timeout, max_connections=ready.max_connections),
    )
