"""`tenantry migrate`: the control plane, then every data-plane schema, to head."""

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.cli.common import DataDir, console, reachable_database, settings_from, with_engine
from tenantry.config import Settings
from tenantry.data.search import service as search
from tenantry.db.base import CONTROL_SCHEMA
from tenantry.db.migrate import (
    Outcome,
    RegisteredSchema,
    Tree,
    head,
    registered_schemas,
    schema_version,
    upgrade_all,
    upgrade_schemas,
)
from tenantry.db.sessions import tenant_session


def migrate(
    check: Annotated[
        bool, typer.Option("--check", help="Only say what is behind (exit 1 if anything is).")
    ] = False,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=64, help="Schemas migrated at once.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Bring every schema to the latest migration.

    The control plane, then the template, every database and the warm pool.
    """
    settings = settings_from(data_dir=data_dir, migrate_concurrency=concurrency)
    with reachable_database(settings) as ready:
        if check:
            behind = with_engine(ready, find_behind)
            _report_behind(behind)
            raise typer.Exit(1 if behind else 0)
        failed = migrate_everything(ready)
    raise typer.Exit(1 if failed else 0)


async def find_behind(engine: AsyncEngine) -> list[tuple[str, str, str | None]]:
    """(schema, kind, version) of every schema not at its head, changing nothing."""
    async with engine.connect() as connection:
        control = await schema_version(connection, CONTROL_SCHEMA)
        behind: list[tuple[str, str, str | None]] = []
        if control != head("control"):
            behind.append((CONTROL_SCHEMA, "control", control))
        if control is not None and control >= "0003":
            behind += [
                (schema.name, schema.kind, schema.version)
                for schema in await registered_schemas(connection)
                if schema.behind
            ]
    return behind


def _report_behind(behind: list[tuple[str, str, str | None]]) -> None:
    if not behind:
        console.print("[green]every schema is at head[/green]")
        return
    table = Table("schema", "kind", "at", "head", title=f"{len(behind)} behind")
    for name, kind, version in behind:
        tree: Tree = "control" if kind == "control" else "tenant"
        table.add_row(name, kind, version or "-", head(tree))
    Console().print(table)


def migrate_everything(settings: Settings, *, quiet: bool = False) -> int:
    """Migrate all; print a summary and the failures; return how many schemas failed."""

    async def run(engine: AsyncEngine) -> list[Outcome]:
        await upgrade_all(engine)
        async with engine.connect() as connection:
            schemas = await registered_schemas(connection)
        behind = [schema for schema in schemas if schema.behind]
        started = time.perf_counter()
        outcomes = await _with_progress(engine, behind, settings, quiet=quiet)
        failures = [outcome for outcome in outcomes if outcome.error]
        failed = {outcome.schema for outcome in failures}
        await _backfill(engine, [each for each in schemas if each.name not in failed], quiet)
        if not behind:
            console.print(
                f"Schemas: all {len(schemas)} at the latest migration ({head('tenant')})",
                highlight=False,
            )
            return []
        console.print(
            f"{len(behind) - len(failures)} of {len(behind)} behind schemas migrated to "
            f"{head('tenant')} in {time.perf_counter() - started:.1f} s"
            + (f", [red]{len(failures)} failed[/red]" if failures else "")
        )
        return failures

    failures = with_engine(settings, run, pool_size=settings.migrate_concurrency + 1)
    if failures:
        table = Table("schema", "error", title="failed (the others are at head)")
        for outcome in failures:
            table.add_row(outcome.schema, outcome.error)
        Console(stderr=True).print(table)
    return len(failures)


async def _backfill(engine: AsyncEngine, schemas: list[RegisteredSchema], quiet: bool) -> None:
    """Index for search the documents written before it (or embedded by another model than
    the configured one), a batch per transaction: an interrupted run resumes."""
    counts: dict[str, int] = {}
    for schema in schemas:
        async with tenant_session(engine, schema.name) as session:
            if count := await search.count_unindexed(session):
                counts[schema.name] = count
    if not counts:
        return
    columns = (TextColumn("indexing documents for search"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, disable=quiet) as progress:
        task = progress.add_task("documents", total=sum(counts.values()))
        for schema_name in counts:
            while True:
                async with tenant_session(engine, schema_name) as session:
                    done = await search.backfill(session)
                if not done:
                    break
                progress.update(task, advance=done)
    console.print(f"{sum(counts.values())} documents of {len(counts)} schemas indexed for search")


async def _with_progress(
    engine: AsyncEngine, behind: list[RegisteredSchema], settings: Settings, *, quiet: bool
) -> list[Outcome]:
    if not behind:
        return []
    columns = (
        TextColumn("migrating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=quiet) as progress:
        task = progress.add_task("schemas", total=len(behind), failed=0)
        failed = 0

        def done(outcome: Outcome) -> None:
            nonlocal failed
            failed += outcome.error is not None
            progress.update(task, advance=1, failed=failed)

        return await upgrade_schemas(
            engine, behind, concurrency=settings.migrate_concurrency, on_done=done
        )
