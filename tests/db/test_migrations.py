"""Both trees: models and migrations agree, each schema records its own version,
upgrading twice changes nothing."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.control import models as control_models  # noqa: F401
from tenantry.data import models as data_models  # noqa: F401
from tenantry.db.base import CONTROL_SCHEMA, TEMPLATE_SCHEMA, ControlPlaneBase, DataPlaneBase
from tenantry.db.migrate import head, pending_migrations, schema_version, upgrade_all


def _diff_control(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "version_table_schema": CONTROL_SCHEMA,
            "include_name": lambda name, type_, _: type_ != "schema" or name == CONTROL_SCHEMA,
        },
    )
    return list(compare_metadata(context, ControlPlaneBase.metadata))


def _diff_template(connection: Connection) -> list[Any]:
    connection.execute(text(f"SET LOCAL search_path TO {TEMPLATE_SCHEMA}"))
    context = MigrationContext.configure(
        connection,
        opts={"include_name": lambda name, type_, _: name != "alembic_version"},
    )
    return list(compare_metadata(context, DataPlaneBase.metadata))


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        assert await connection.run_sync(_diff_control) == []
        assert await connection.run_sync(_diff_template) == []


async def test_each_schema_records_its_version(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await schema_version(connection, CONTROL_SCHEMA) == head("control")
        assert await schema_version(connection, TEMPLATE_SCHEMA) == head("tenant")
        assert await schema_version(connection, "never_made_123456") is None
        assert await pending_migrations(connection) == []


async def test_upgrading_again_changes_nothing(engine: AsyncEngine) -> None:
    await upgrade_all(engine)
    async with engine.connect() as connection:
        assert await pending_migrations(connection) == []
