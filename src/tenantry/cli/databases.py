"""`tenantry databases list|show|create|delete|export|import`, with the API's rules."""

import asyncio
import json
import sys
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.cli.common import DataDir, console, reachable_database, settings_from, with_engine
from tenantry.control.databases import service
from tenantry.control.provisioning.worker import Worker
from tenantry.data import archive
from tenantry.db.sessions import detached_session
from tenantry.errors import TenantryError
from tenantry.kernel.enums import DatabaseStatus
from tenantry.kernel.id_types import parse as parse_id_type
from tenantry.models.control import Database, Job, Organization, TenantSchema

databases_app = typer.Typer(help="Databases (tenants) of every organization.")

Org = Annotated[str | None, typer.Option("--org", help="Only this organization's databases.")]
DatabaseId = Annotated[str, typer.Argument(help="The database's id.")]


async def _settle(engine: AsyncEngine, schema_name: str) -> None:
    """Run the queued jobs here until none is left for `schema_name` (a running server may
    take some of them: then wait for it), so the command's work is done when it returns."""
    worker = Worker(engine, pool_size=0, concurrency=1)
    pending = select(Job.id).where(Job.schema_name == schema_name).limit(1)
    async with engine.connect() as connection:
        while True:
            if await worker.run_one(connection):
                continue
            async with connection.begin():
                if await connection.scalar(pending) is None:
                    return
            await asyncio.sleep(0.05)


def _rows(org: str | None) -> Any:
    query = (
        select(Database, TenantSchema.version)
        .outerjoin(TenantSchema, TenantSchema.name == Database.schema_name)
        .order_by(Database.org_id, Database.created_at)
    )
    return query if org is None else query.where(Database.org_id == org)


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"


@databases_app.command("list")
def list_databases(
    org: Org = None,
    output: Annotated[
        Output, typer.Option("--output", "-o", help="A table, or JSON (every field, whole).")
    ] = Output.TABLE,
    data_dir: DataDir = None,
) -> None:
    """List databases with their status, schema and schema version."""

    async def rows(engine: AsyncEngine) -> list[Any]:
        async with detached_session(engine) as session:
            return list((await session.execute(_rows(org))).all())

    with reachable_database(settings_from(data_dir=data_dir)) as ready:
        found = with_engine(ready, rows)
    if output is Output.JSON:
        typer.echo(json.dumps([_as_json(*row) for row in found], indent=2))
        return
    Console().print(_table(found))


def _table(found: list[Any]) -> Table:
    """Ids whole on one line, to copy; what does not fit in the rest is cut short with an
    ellipsis, the organization's id first (`--output json` has it all)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=22)
    table.add_column("name", overflow="ellipsis", min_width=4)
    table.add_column("status", no_wrap=True, min_width=7)
    table.add_column("schema", overflow="ellipsis", min_width=6)
    table.add_column("version", no_wrap=True, min_width=7)
    table.add_column("org", overflow="ellipsis", min_width=6)
    for database, version in found:
        table.add_row(
            database.id,
            database.name,
            database.status,
            database.schema_name,
            version or "-",
            database.org_id,
        )
    return table


def _as_json(database: Database, version: str | None) -> dict[str, Any]:
    return {
        "id": database.id,
        "org_id": database.org_id,
        "name": database.name,
        "description": database.description,
        "item_id_type": database.item_id_type,
        "user_id_type": database.user_id_type,
        "session_id_type": database.session_id_type,
        "status": database.status,
        "failure_reason": database.failure_reason,
        "schema": database.schema_name,
        "schema_version": version,
        "core_config": database.core_config,
        "metadata": database.extra,
        "created_at": database.created_at.isoformat(),
    }


@databases_app.command("show")
def show_database(database_id: DatabaseId, data_dir: DataDir = None) -> None:
    """Print one database as JSON."""

    async def row(engine: AsyncEngine) -> Any:
        async with detached_session(engine) as session:
            return (await session.execute(_rows(None).where(Database.id == database_id))).first()

    with reachable_database(settings_from(data_dir=data_dir)) as ready:
        found = with_engine(ready, row)
    if found is None:
        console.print(f"[red]no database {database_id}[/red]")
        raise typer.Exit(1)
    typer.echo(json.dumps(_as_json(*found), indent=2))


def _id_type(value: str) -> str:
    try:
        parse_id_type(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return value


IdType = Annotated[str, typer.Option(callback=_id_type, help="uint32, uuid, hex16, ...")]


@databases_app.command("create")
def create_database(
    org: Annotated[str, typer.Option("--org", help="The organization's id.")],
    name: Annotated[str, typer.Option(help="Unique within the organization.")],
    description: Annotated[str, typer.Option()] = "",
    item_id_type: IdType = "uuid",
    user_id_type: IdType = "uuid",
    session_id_type: IdType = "uuid",
    data_dir: DataDir = None,
) -> None:
    """Create a database and provision its schema; print its id."""

    async def create(engine: AsyncEngine) -> str:
        async with detached_session(engine) as session:
            if await session.get(Organization, org) is None:
                raise typer.BadParameter(f"no organization {org}", param_hint="--org")
            database = await service.create(
                session,
                org_id=org,
                name=name,
                description=description,
                item_id_type=item_id_type,
                user_id_type=user_id_type,
                session_id_type=session_id_type,
            )
        await _settle(engine, database.schema_name)
        return database.id

    with reachable_database(settings_from(data_dir=data_dir)) as ready:
        try:
            typer.echo(with_engine(ready, create))
        except TenantryError as error:
            console.print(f"[red]{error.code}[/red]: {error.detail}")
            raise typer.Exit(1) from None


@databases_app.command("delete")
def delete_database(
    database_id: DatabaseId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete a database, its keys, its tokens and its schema. This cannot be undone."""
    if not yes:
        typer.confirm(f"Delete database {database_id} and all its data?", abort=True)

    async def delete(engine: AsyncEngine) -> bool:
        async with detached_session(engine) as session:
            database = await session.get(Database, database_id, with_for_update=True)
            if database is None:
                return False
            await service.delete(session, database)
        await _settle(engine, database.schema_name)
        return True

    with reachable_database(settings_from(data_dir=data_dir)) as ready:
        if not with_engine(ready, delete):
            console.print(f"[red]no database {database_id}[/red]")
            raise typer.Exit(1)
    console.print(f"deleted {database_id}")


ARCHIVED = ("name", "description", "item_id_type", "user_id_type", "session_id_type", "livemode")


def _archived(database: Database) -> dict[str, Any]:
    """The settings an archive carries (the rows carry the rest)."""
    settings = {name: getattr(database, name) for name in ARCHIVED}
    return settings | {"core_config": database.core_config, "metadata": database.extra}


@databases_app.command("export")
def export_database(
    database_id: DatabaseId,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Write a ready database's archive: JSON lines of its settings and every row of its
    schema, from one snapshot (see docs/databases.md). `databases import` loads it."""

    async def write(engine: AsyncEngine, sink: BinaryIO) -> None:
        async with detached_session(engine) as session:
            database = await session.get(Database, database_id)
        if database is None or database.status != DatabaseStatus.READY:
            raise typer.BadParameter(f"no ready database {database_id}")
        async with engine.connect() as connection:
            snapshot = await connection.execution_options(isolation_level="REPEATABLE READ")
            async with snapshot.begin():
                archived = _archived(database)
                async for line in archive.export(snapshot, database.schema_name, archived):
                    sink.write(line)

    sink = output.open("wb") if output else nullcontext(sys.stdout.buffer)
    with reachable_database(settings_from(data_dir=data_dir)) as ready, sink as lines:
        with_engine(ready, lambda engine: write(engine, lines))


@databases_app.command("import")
def import_database(
    file: Annotated[Path, typer.Argument(help="An archive, as `databases export` writes it.")],
    org: Annotated[str, typer.Option("--org", help="The organization that gets it.")],
    name: Annotated[str | None, typer.Option(help="Default: the archived name.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a database from an archive, with its settings and every row; print its id.
    Nothing is left behind when the archive is refused."""

    async def load(engine: AsyncEngine, lines: BinaryIO, archived: dict[str, Any]) -> str:
        async with detached_session(engine) as session:
            if await session.get(Organization, org) is None:
                raise typer.BadParameter(f"no organization {org}", param_hint="--org")
            database = await service.create(
                session, org_id=org, **(archived | {"name": name or archived.get("name")})
            )
        await _settle(engine, database.schema_name)
        try:
            async with engine.begin() as connection:
                await archive.load(connection, database.schema_name, lines)
        except BaseException:
            async with detached_session(engine) as session:
                await service.delete(session, await session.merge(database))
            await _settle(engine, database.schema_name)
            raise
        return database.id

    try:
        with file.open("rb") as lines:
            archived = _settings(archive.header(lines.readline()))
            with reachable_database(settings_from(data_dir=data_dir)) as ready:
                typer.echo(with_engine(ready, lambda engine: load(engine, lines, archived)))
    except (OSError, archive.ArchiveError) as error:
        console.print(f"[red]{file}: {error}[/red]")
        raise typer.Exit(2) from None
    except TenantryError as error:
        console.print(f"[red]{error.code}[/red]: {error.detail}")
        raise typer.Exit(1) from None


def _settings(archived: dict[str, Any]) -> dict[str, Any]:
    """`service.create`'s arguments from an archive's settings, checked as the API checks
    them."""
    settings = {name: archived.get(name) for name in (*ARCHIVED, "core_config", "metadata")}
    strings = ("name", "description", "item_id_type", "user_id_type", "session_id_type")
    if not all(isinstance(settings[name], str) for name in strings):
        raise archive.ArchiveError(f"the archived settings need strings for {strings}")
    for kind in ("item_id_type", "user_id_type", "session_id_type"):
        try:
            parse_id_type(str(settings[kind]))
        except ValueError as error:
            raise archive.ArchiveError(f"{kind}: {error}") from None
    if not isinstance(settings["livemode"], bool) or not all(
        isinstance(settings[name], dict) for name in ("core_config", "metadata")
    ):
        raise archive.ArchiveError("livemode must be a boolean, core_config and metadata objects")
    return settings
