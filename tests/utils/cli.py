"""The `tenantry` command line, invoked in this process (in a thread) on the suite's
database. (`tests.utils.server.tenantry` runs it as a process of its own.)"""

import asyncio

from click.testing import Result
from typer.testing import CliRunner

from tenantry.cli import app
from tenantry.config import Settings


async def tenantry(
    settings: Settings, *args: str, answer: str | None = None, columns: int = 200
) -> Result:
    env = {
        "TENANTRY_DATABASE_URL": settings.database_url,
        "TENANTRY_SECRET_KEY": settings.secret,
        "COLUMNS": str(columns),
    }
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, app, list(args), input=answer, env=env)
