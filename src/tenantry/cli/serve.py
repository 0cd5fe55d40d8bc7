"""`tenantry serve`."""

import fcntl
import os
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from tenantry.cli.common import DataDir, console, reachable_database, settings_from, with_engine
from tenantry.cli.migrate import migrate_everything
from tenantry.db.migrate import upgrade_all
from tenantry.protocol import protocol

FILES_BESIDES_CONNECTIONS = 256  # database pools, Redis, the listening socket, logs


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
        uvicorn.run(
            "tenantry.app:create_app",
            factory=True,
            host=ready.host,
            port=ready.port,
            workers=ready.workers,
            log_config=None,
            access_log=False,
            server_header=False,
            http=protocol(
                header_timeout=ready.header_timeout, max_connections=ready.max_connections
            ),
        )
