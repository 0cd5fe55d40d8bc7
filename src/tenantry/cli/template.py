"""`tenantry template load|dump`: the template every new database is copied from."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry import audit
from tenantry.cli.common import DataDir, console, reachable_database, settings_from, with_engine
from tenantry.data import template
from tenantry.db.base import TEMPLATE_SCHEMA
from tenantry.db.migrate import upgrade_all
from tenantry.db.sessions import tenant_session

template_app = typer.Typer(help="The template every new database is copied from.")


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
    with reachable_database(settings_from(data_dir=data_dir)) as ready:

        async def load(engine: AsyncEngine) -> dict[str, int]:
            await upgrade_all(engine)
            async with tenant_session(engine, TEMPLATE_SCHEMA) as session:
                counts = await template.load(session, document)
                await audit.record(session, "template.loaded", after={"rows": counts})
                return counts

        try:
            counts = with_engine(ready, load)
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
    with reachable_database(settings_from(data_dir=data_dir)) as ready:

        async def dump(engine: AsyncEngine) -> template.Document:
            async with tenant_session(engine, TEMPLATE_SCHEMA) as session:
                return await template.dump(session)

        document = with_engine(ready, dump)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
