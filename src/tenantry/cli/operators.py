"""`tenantry operators grant|revoke EMAIL`: who may edit the template in the admin panel."""

from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry import audit
from tenantry.cli.common import DataDir, console, reachable_database, settings_from, with_engine
from tenantry.db.sessions import detached_session
from tenantry.models.control import Account

operators_app = typer.Typer(help="Operators: accounts that may edit the template.")

Email = Annotated[str, typer.Argument(help="The account's email.")]


def _set(email: str, value: bool, data_dir: DataDir) -> None:
    async def change(engine: AsyncEngine) -> int:
        async with detached_session(engine) as session:
            audit.watch(session, audit.CLI)  # operator.granted or .revoked
            account = await session.scalar(select(Account).where(Account.email == email.lower()))
            if account is None:
                return 0
            account.is_operator = value
            return 1

    with reachable_database(settings_from(data_dir=data_dir)) as ready:
        changed = with_engine(ready, change)
    if not changed:
        console.print(f"[red]no account has the email {email}[/red]")
        raise typer.Exit(1)
    console.print(f"{email.lower()}: {'an operator' if value else 'not an operator'}")


@operators_app.command("grant")
def grant(email: Email, data_dir: DataDir = None) -> None:
    """Make the account an operator: it edits the template in the admin panel."""
    _set(email, True, data_dir)


@operators_app.command("revoke")
def revoke(email: Email, data_dir: DataDir = None) -> None:
    """The account is an operator no more."""
    _set(email, False, data_dir)
