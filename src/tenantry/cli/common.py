"""What every command shares: settings, a reachable database, an engine, the console."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.engine import create_engine
from tenantry.embedded import EmbeddedPostgres

console = Console(stderr=True)
T = TypeVar("T")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder of the embedded PostgreSQL.")
]


def settings_from(**overrides: Any) -> Settings:
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "settings"
            console.print(f"[red]configuration error[/red] {field}: {problem['msg']}")
        raise typer.Exit(2) from None


@contextmanager
def reachable_database(settings: Settings, *, owner: bool = False) -> Iterator[Settings]:
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


def with_engine(
    settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]], *, pool_size: int = 2
) -> T:
    async def run() -> T:
        # Commands run migrations and hold locks across statements: PostgreSQL itself.
        engine = create_engine(settings.direct(), pool_size=pool_size)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())
