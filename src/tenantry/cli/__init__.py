"""The `tenantry` command."""

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.cli.common import DataDir, reachable_database, settings_from, with_engine
from tenantry.cli.databases import databases_app
from tenantry.cli.migrate import migrate
from tenantry.cli.operators import operators_app
from tenantry.cli.serve import serve
from tenantry.cli.template import template_app
from tenantry.db.migrate import pending_migrations

app = typer.Typer(
    help="Tenantry: a multi-tenant API server.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,  # plain help: a flag shows no type, as it takes no value
)
app.command()(serve)
app.command()(migrate)
app.add_typer(databases_app, name="databases")
app.add_typer(template_app, name="template")
app.add_typer(operators_app, name="operators")


@app.command()
def check(data_dir: DataDir = None) -> None:
    """Check the configuration, the database and the migrations."""
    with reachable_database(settings_from(data_dir=data_dir)) as ready:

        async def behind(engine: AsyncEngine) -> list[str]:
            async with engine.connect() as connection:
                return await pending_migrations(connection)

        pending = with_engine(ready, behind)
    table = Table("check", "result")
    table.add_row("configuration", "ok")
    table.add_row("database", "reachable")
    table.add_row("migrations", "pending: " + ", ".join(pending) if pending else "at head")
    Console().print(table)
    if pending:
        raise typer.Exit(1)


def main() -> None:
    app()
