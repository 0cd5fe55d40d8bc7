"""Bringing schemas to the head of their Alembic tree."""

from functools import cache
from pathlib import Path
from typing import Literal, NoReturn

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantry.db.base import CONTROL_SCHEMA, TEMPLATE_SCHEMA
from tenantry.db.schema_names import quote

Tree = Literal["control", "tenant"]
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_LOCK = 0x74656E616E74  # one control-plane migrator at a time


def run_offline_unsupported() -> NoReturn:
    raise SystemExit("tenantry migrations run online only: use `tenantry migrate`")


@cache
def _config(tree: Tree) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / tree))
    return config


@cache
def head(tree: Tree) -> str:
    revision = ScriptDirectory.from_config(_config(tree)).get_current_head()
    assert revision is not None, f"the {tree} tree has no revisions"
    return revision


def _upgrade(connection: Connection, tree: Tree, schema: str | None) -> None:
    config = _config(tree)
    config.attributes.update(connection=connection, schema=schema)
    command.upgrade(config, "head")


async def upgrade_control(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, "control", None)


async def upgrade_schema(engine: AsyncEngine, schema: str) -> None:
    """Create `schema` if needed and bring it to the tenant head, in one transaction."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, "tenant", schema)


async def upgrade_all(engine: AsyncEngine) -> None:
    await upgrade_control(engine)
    await upgrade_schema(engine, TEMPLATE_SCHEMA)


async def schema_version(connection: AsyncConnection, schema: str) -> str | None:
    """The revision `schema` is at, or None when it was never migrated."""
    try:
        async with connection.begin_nested():
            result = await connection.execute(
                text(f"SELECT version_num FROM {quote(schema)}.alembic_version")  # noqa: S608
            )
            return result.scalar_one_or_none()
    except ProgrammingError:
        return None


async def pending_migrations(connection: AsyncConnection) -> list[str]:
    """Names of the server's own schemas that are not at their head."""
    server_schemas: tuple[tuple[str, Tree], ...] = (
        (CONTROL_SCHEMA, "control"),
        (TEMPLATE_SCHEMA, "tenant"),
    )
    return [
        schema
        for schema, tree in server_schemas
        if await schema_version(connection, schema) != head(tree)
    ]
