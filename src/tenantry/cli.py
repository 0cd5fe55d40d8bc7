"""The `tenantry` command."""

import asyncio
import fcntl
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.data import template
from tenantry.db.base import TEMPLATE_SCHEMA
from tenantry.db.engine import create_engine
from tenantry.db.migrate import pending_migrations, upgrade_all
from tenantry.db.sessions import tenant_session
from tenantry.embedded import EmbeddedPostgres

app = typer.Typer(
    help="Tenantry: a multi-tenant API server.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
template_app = typer.Typer(help="The template every new database is copied from.")
app.add_typer(template_app, name="template")
console = Console(stderr=True)
T = TypeVar("T")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder of the embedded PostgreSQL.")
]


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "settings"
            console.print(f"[red]configuration error[/red] {field}: {problem['msg']}")
        raise typer.Exit(2) from None


@contextmanager
def _database(settings: Settings, *, owner: bool = False) -> Iterator[Settings]:
    """Settings with a reachable database: the configured one, or the embedded server.

    The embedded server is stopped on the way out when this call started it, or always
    when `owner` (the `serve` command, which adopts a server left by a killed run).
    """
    if not settings.embedded:
        yield settings
        return
    server = EmbeddedPostgres(settings.data_dir)
    started = server.start()
    try:
        url = server.url().replace("postgresql://", "postgresql+asyncpg://", 1)
        yield settings.model_copy(update={"database_url": url})
    finally:
        if owner or started:
            server.stop()


def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings, pool_size=2)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the API server (on an embedded PostgreSQL unless TENANTRY_DATABASE_URL is set)."""
    settings = _settings(host=host, port=port, workers=workers, data_dir=data_dir)
    lock = _exclusive(settings.data_dir) if settings.embedded else _no_lock()
    with lock, _database(settings, owner=True) as ready:
        _with_engine(ready, upgrade_all)
        assert ready.database_url is not None
        assert ready.secret_key is not None
        os.environ["TENANTRY_DATABASE_URL"] = ready.database_url
        os.environ["TENANTRY_SECRET_KEY"] = ready.secret_key.get_secret_value()
        os.environ["TENANTRY_DATA_DIR"] = str(ready.data_dir)
        # uvicorn re-raises the signal it stopped on; make SIGTERM unwind like Ctrl-C so
        # that the embedded PostgreSQL is stopped on the way out.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        uvicorn.run(
            "tenantry.app:create_app",
            factory=True,
            host=ready.host,
            port=ready.port,
            workers=ready.workers,
            log_config=None,
            access_log=False,
            server_header=False,
        )


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # a requested, graceful stop


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Bring the control plane and the template to the latest migration."""
    with _database(_settings(data_dir=data_dir)) as ready:
        _with_engine(ready, upgrade_all)
    console.print("[green]migrations applied[/green]")


@app.command()
def check(data_dir: DataDir = None) -> None:
    """Check the configuration, the database connection and the migrations."""
    with _database(_settings(data_dir=data_dir)) as ready:

        async def behind(engine: AsyncEngine) -> list[str]:
            async with engine.connect() as connection:
                return await pending_migrations(connection)

        pending = _with_engine(ready, behind)
    table = Table("check", "result")
    table.add_row("configuration", "ok")
    table.add_row("database", "reachable")
    table.add_row("migrations", "pending: " + ", ".join(pending) if pending else "at head")
    Console().print(table)
    if pending:
        raise typer.Exit(1)


@template_app.command("load")
def template_load(
    file: Annotated[Path, typer.Argument(help="JSON document, as `template dump` writes it.")],
    data_dir: DataDir = None,
) -> None:
    """Replace the template's rows with those of FILE."""
    try:
        document = json.loads(file.read_bytes())
    except (OSError, ValueError) as error:
        console.print(f"[red]cannot read {file}: {error}[/red]")
        raise typer.Exit(2) from None
    with _database(_settings(data_dir=data_dir)) as ready:

        async def load(engine: AsyncEngine) -> dict[str, int]:
            await upgrade_all(engine)
            async with tenant_session(engine, TEMPLATE_SCHEMA) as session:
                return await template.load(session, document)

        try:
            counts = _with_engine(ready, load)
        except template.TemplateDocumentError as error:
            console.print(f"[red]{file}: {error}[/red]")
            raise typer.Exit(2) from None
    table = Table("table", "rows")
    for name, count in counts.items():
        table.add_row(name, str(count))
    Console().print(table)


@template_app.command("dump")
def template_dump(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the template's rows as a JSON document."""
    with _database(_settings(data_dir=data_dir)) as ready:

        async def dump(engine: AsyncEngine) -> template.Document:
            async with tenant_session(engine, TEMPLATE_SCHEMA) as session:
                return await template.dump(session)

        document = _with_engine(ready, dump)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


def main() -> None:
    app()
