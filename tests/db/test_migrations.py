"""Both trees: models and migrations agree, each schema records its own version,
upgrading twice changes nothing."""

import io
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.environment import EnvironmentContext
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.base import CONTROL_SCHEMA, TEMPLATE_SCHEMA, ControlPlaneBase, DataPlaneBase
from tenantry.db.migrate import (
    _config,
    _script,
    create_schema,
    driver_connection,
    head,
    pending_migrations,
    schema_upgrade_sql,
    schema_version,
    upgrade_all,
)
from tenantry.ids import new_id
from tenantry.models import control as control_models  # noqa: F401
from tenantry.models import data as data_models


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
        opts={
            "include_name": lambda name, type_, _: (
                name != "alembic_version" and name not in data_models.SERVER_DEPENDENT_INDEXES
            )
        },
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


FUNCTIONS_IN = "SELECT count(*) FROM pg_proc WHERE pronamespace = to_regnamespace($1)"
COUNTED = "SELECT coalesce(sum(value), 0) FROM {schema}.counters WHERE name = 'item'"


def _tenant_downgrade_sql(target: str) -> str:
    """The tenant tree's statements from head down to `target`."""
    script = _script("tenant")
    output = io.StringIO()
    with EnvironmentContext(
        _config("tenant"),
        script,
        fn=lambda revision, _: script._downgrade_revs(target, revision),
        as_sql=True,
        starting_rev=head("tenant"),
        destination_rev=target,
    ) as environment:
        environment.configure(
            dialect_name="postgresql",
            output_buffer=output,
            transactional_ddl=False,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
        )
        with environment.begin_transaction():
            environment.run_migrations()
    return output.getvalue()


async def _count_an_item(driver: Any, schema: str) -> int:
    await driver.execute(
        f"INSERT INTO {schema}.items (item_id) VALUES (decode(md5(random()::text), 'hex'))"
    )
    return int(await driver.fetchval(COUNTED.format(schema=schema)))


async def test_schemas_define_no_functions_of_their_own(engine: AsyncEngine) -> None:
    """Thousands of schemas each defining a function of the same name make every lookup of
    that name walk them all; the counting triggers use the control schema's functions."""
    schema = f"functions_{new_id().lower().replace('-', '_')[:12]}"
    await create_schema(engine, schema, kind="database")
    async with engine.connect() as connection:
        driver = await driver_connection(connection)
        for name in (TEMPLATE_SCHEMA, schema):
            assert await driver.fetchval(FUNCTIONS_IN, name) == 0
        assert await _count_an_item(driver, schema) == 1


async def test_a_schema_made_before_the_shared_functions_keeps_counting(
    engine: AsyncEngine,
) -> None:
    schema = f"functions_{new_id().lower().replace('-', '_')[:12]}"
    await create_schema(engine, schema, kind="database")
    async with engine.connect() as connection:
        driver = await driver_connection(connection)
        async with driver.transaction():  # back to 0003: the schema's own functions
            await driver.execute(f"SET LOCAL search_path TO {schema}")
            await driver.execute(_tenant_downgrade_sql("0003"))
        assert await driver.fetchval(FUNCTIONS_IN, schema) == 3
        assert await _count_an_item(driver, schema) == 1
        async with driver.transaction():
            await driver.execute(schema_upgrade_sql(schema, "0003", kind="database", create=False))
        assert await driver.fetchval(FUNCTIONS_IN, schema) == 0
        assert await _count_an_item(driver, schema) == 2
        assert await schema_version(connection, schema) == head("tenant")
