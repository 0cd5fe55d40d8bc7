"""The warm pool holds the template's rows: every write to the template counts a new
generation, the pool's schemas are refilled to it, and provisioning copies nothing from a
pool schema of the current generation (and replaces the rows of an older one).

On a database of its own, with no app and no other worker: the tests drive the worker's
steps one at a time and set the pool up as they need it.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.control.provisioning import service
from tenantry.control.provisioning.worker import Worker
from tenantry.db.engine import create_engine
from tenantry.db.migrate import (
    TEMPLATE_CHANGED,
    create_schema,
    driver_connection,
    template_tables,
    upgrade_all,
)
from tenantry.ids import new_id
from tests.utils.postgres import create_database, drop_database
from tests.utils.settings import make_settings

GENERATION = "SELECT template_generation FROM tenantry.schemas WHERE name = $1"
POOL = "SELECT name, template_generation FROM tenantry.schemas WHERE kind = 'pool' ORDER BY name"
SPACE_NAMES = "SELECT array_agg(name ORDER BY name) FROM {}.spaces"


@pytest.fixture(scope="module")
async def engine(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    url = await create_database(postgres_server)
    settings = make_settings(url, Path(tmp_path_factory.mktemp("provisioning")))
    engine = create_engine(settings)
    await upgrade_all(engine)
    yield engine
    await engine.dispose()
    await drop_database(url)


@pytest.fixture
async def driver(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    async with engine.connect() as connection:
        yield await driver_connection(connection)


@pytest.fixture(autouse=True)
async def empty(driver: asyncpg.Connection) -> AsyncIterator[None]:
    """Each test starts with no pool, no database and an empty template."""
    yield
    for name, _ in await driver.fetch(POOL):
        await driver.execute(f'DROP SCHEMA "{name}" CASCADE')
    await driver.execute("DELETE FROM tenantry.schemas WHERE kind IN ('pool', 'database')")
    await driver.execute("DELETE FROM tenantry.organizations")
    await driver.execute("DELETE FROM public.spaces")


async def generation(driver: asyncpg.Connection) -> int:
    value: int = await driver.fetchval(GENERATION, "public")
    return value


async def add_space(driver: asyncpg.Connection, schema: str, name: str) -> None:
    await driver.execute(f"INSERT INTO {schema}.spaces (name) VALUES ($1)", name)


async def spaces(driver: asyncpg.Connection, schema: str) -> list[str] | None:
    names: list[str] | None = await driver.fetchval(SPACE_NAMES.format(f'"{schema}"'))
    return names


async def refill(engine: AsyncEngine, size: int) -> None:
    while await service.refill_pool(engine, size):
        pass


async def pool_schema(engine: AsyncEngine, driver: asyncpg.Connection, held: int | None) -> str:
    """A pool schema at head recorded as holding the template's rows of generation `held`."""
    name = f"pool_{secrets.token_hex(8)}"
    await create_schema(engine, name, kind="pool")
    await driver.execute(
        "UPDATE tenantry.schemas SET template_generation = $2 WHERE name = $1", name, held
    )
    return name


async def provision(engine: AsyncEngine, driver: asyncpg.Connection) -> str:
    """Queue a database's provisioning and run it; the database's schema."""
    org_id, db_id = new_id(), new_id()
    schema = f"db_{secrets.token_hex(6)}"
    await driver.execute("INSERT INTO tenantry.organizations (id, name) VALUES ($1, 'o')", org_id)
    await driver.execute(
        "INSERT INTO tenantry.databases (id, org_id, name, description, schema_name, status, "
        "item_id_type, user_id_type, session_id_type, core_config, metadata) VALUES "
        "($1, $2, $1, '', $3, 'pending', 'uuid', 'uuid', 'uuid', '{}', '{}')",
        db_id,
        org_id,
        schema,
    )
    await driver.execute(
        "INSERT INTO tenantry.jobs (kind, schema_name, database_id) VALUES ('provision', $1, $2)",
        schema,
        db_id,
    )
    async with engine.connect() as connection:
        assert await Worker(engine, pool_size=0, concurrency=1).run_one(connection)
    status = await driver.fetchval("SELECT status FROM tenantry.databases WHERE id = $1", db_id)
    assert status == "ready"
    return schema


class TestTheTemplateCountsItsChanges:
    async def test_every_table_it_holds_is_watched(self, driver: asyncpg.Connection) -> None:
        watched = await driver.fetch(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = $1 AND c.relnamespace = 'public'::regnamespace",
            TEMPLATE_CHANGED,
        )
        assert sorted(row[0] for row in watched) == sorted(t.name for t in template_tables())

    @pytest.mark.parametrize(
        "write",
        [
            "INSERT INTO public.spaces (name) VALUES ('x')",
            "UPDATE public.spaces SET name = 'y'",
            "DELETE FROM public.spaces",
            "TRUNCATE public.spaces CASCADE",
        ],
    )
    async def test_each_write_is_a_new_generation(
        self, driver: asyncpg.Connection, write: str
    ) -> None:
        before = await generation(driver)
        await driver.execute(write)
        assert await generation(driver) > before

    async def test_a_write_rolled_back_counts_nothing(self, driver: asyncpg.Connection) -> None:
        before = await generation(driver)
        transaction = driver.transaction()
        await transaction.start()
        await add_space(driver, "public", "gone")
        await transaction.rollback()
        assert await generation(driver) == before

    async def test_upgrading_again_adds_no_trigger(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        await upgrade_all(engine)
        count = "SELECT count(*) FROM pg_trigger WHERE tgname = $1"
        assert await driver.fetchval(count, TEMPLATE_CHANGED) == len(template_tables())


class TestThePoolHoldsTheTemplatesRows:
    async def test_new_pool_schemas_hold_them(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        await add_space(driver, "public", "demo")
        await refill(engine, 2)
        pool = await driver.fetch(POOL)
        assert [held for _, held in pool] == [await generation(driver)] * 2
        for name, _ in pool:
            assert await spaces(driver, name) == ["demo"]
            counted = f'SELECT count(*) FROM "{name}".counters'
            assert await driver.fetchval(counted) == 0  # spaces are not counted

    async def test_a_template_change_refreshes_the_pool(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        await add_space(driver, "public", "old")
        await refill(engine, 2)
        await driver.execute("UPDATE public.spaces SET name = 'new'")
        await refill(engine, 2)
        pool = await driver.fetch(POOL)
        assert len(pool) == 2
        for name, held in pool:
            assert held == await generation(driver)
            assert await spaces(driver, name) == ["new"]

    async def test_the_counters_follow_a_refresh(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        items = "INSERT INTO public.items (item_id) VALUES (decode(md5($1), 'hex'))"
        await driver.execute(items, "one")
        await refill(engine, 1)
        await driver.execute(items, "two")
        await refill(engine, 1)
        [(name, _)] = await driver.fetch(POOL)
        counted = f"SELECT sum(value) FROM \"{name}\".counters WHERE name = 'item'"
        assert await driver.fetchval(counted) == 2
        await driver.execute("DELETE FROM public.items")

    async def test_no_refill_while_the_template_is_behind(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        head = await driver.fetchval("SELECT version FROM tenantry.schemas WHERE name = 'public'")
        await driver.execute("UPDATE tenantry.schemas SET version = '0000' WHERE name = 'public'")
        try:
            assert not await service.refill_pool(engine, 2)
        finally:
            await driver.execute(
                "UPDATE tenantry.schemas SET version = $1 WHERE name = 'public'", head
            )


async def pool_at(driver: asyncpg.Connection, size: int, within: float = 10) -> None:
    """Wait until the pool holds `size` schemas, all of the template's generation."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        current = await generation(driver)
        if [held for _, held in await driver.fetch(POOL)] == [current] * size:
            return
        assert asyncio.get_running_loop().time() < deadline, await driver.fetch(POOL)
        await asyncio.sleep(0.05)


async def test_a_running_worker_refreshes_the_pool_when_the_template_changes(
    engine: AsyncEngine, driver: asyncpg.Connection
) -> None:
    """The template's trigger wakes the workers: no job, no 30 s wait."""
    task = asyncio.create_task(Worker(engine, pool_size=2, concurrency=1).run())
    try:
        await pool_at(driver, 2)
        await add_space(driver, "public", "changed")
        await pool_at(driver, 2, within=25)  # the fallback poll waits 30 s
        for name, _ in await driver.fetch(POOL):
            assert await spaces(driver, name) == ["changed"]
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


class TestProvisioningTakesThePool:
    async def test_a_current_pool_schema_is_renamed_not_copied_into(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        await add_space(driver, "public", "template's")
        pooled = await pool_schema(engine, driver, await generation(driver))
        await add_space(driver, f'"{pooled}"', "only in the pool schema")
        schema = await provision(engine, driver)
        assert await spaces(driver, schema) == ["only in the pool schema"]  # trusted as is
        assert await driver.fetch(POOL) == []
        row = await driver.fetchrow(
            "SELECT kind, template_generation FROM tenantry.schemas WHERE name = $1", schema
        )
        assert tuple(row) == ("database", None)

    @pytest.mark.parametrize("held", [None, -1])
    async def test_an_outdated_pool_schema_gets_the_templates_rows(
        self, engine: AsyncEngine, driver: asyncpg.Connection, held: int | None
    ) -> None:
        await add_space(driver, "public", "template's")
        pooled = await pool_schema(engine, driver, held)
        await add_space(driver, f'"{pooled}"', "stale")
        schema = await provision(engine, driver)
        assert await spaces(driver, schema) == ["template's"]

    async def test_a_current_pool_schema_is_taken_first(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        await pool_schema(engine, driver, None)  # older, and outdated
        current = await pool_schema(engine, driver, await generation(driver))
        await add_space(driver, f'"{current}"', "current")
        schema = await provision(engine, driver)
        assert await spaces(driver, schema) == ["current"]

    async def test_without_a_pool_the_schema_is_made_and_filled(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        await add_space(driver, "public", "template's")
        schema = await provision(engine, driver)
        assert await spaces(driver, schema) == ["template's"]


class TestANewDatabaseTakesACurrentPoolSchemaAtOnce:
    """`take_pooled`, which `POST databases/` calls in its transaction: no job, no copy."""

    async def test_a_current_one_is_renamed_in_the_callers_transaction(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        await add_space(driver, "public", "template's")
        pooled = await pool_schema(engine, driver, await generation(driver))
        await add_space(driver, f'"{pooled}"', "held")
        schema = f"db_{secrets.token_hex(6)}"
        async with driver.transaction():
            assert await service.take_pooled(driver, schema)
        assert await spaces(driver, schema) == ["held"]
        assert await driver.fetch(POOL) == []
        row = await driver.fetchrow("SELECT kind FROM tenantry.schemas WHERE name = $1", schema)
        assert row["kind"] == "database"

    @pytest.mark.parametrize("held", [None, -1])
    async def test_an_outdated_one_is_left_to_the_job(
        self, engine: AsyncEngine, driver: asyncpg.Connection, held: int | None
    ) -> None:
        await add_space(driver, "public", "template's")
        pooled = await pool_schema(engine, driver, held)
        async with driver.transaction():
            assert not await service.take_pooled(driver, "db_never")
        assert [name for name, _ in await driver.fetch(POOL)] == [pooled]

    async def test_one_another_transaction_holds_is_skipped(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        current = await generation(driver)
        pooled = await pool_schema(engine, driver, current)
        async with engine.connect() as other:
            holder = await driver_connection(other)
            async with holder.transaction():
                assert await service.take_pooled(holder, "db_first")
                async with driver.transaction():
                    assert not await service.take_pooled(driver, "db_second")
        assert (
            await driver.fetchval("SELECT count(*) FROM tenantry.schemas WHERE name = $1", pooled)
            == 0
        )

    async def test_a_rollback_leaves_it_in_the_pool(
        self, engine: AsyncEngine, driver: asyncpg.Connection
    ) -> None:
        pooled = await pool_schema(engine, driver, await generation(driver))
        with suppress(RuntimeError):
            async with driver.transaction():
                assert await service.take_pooled(driver, "db_rolled_back")
                raise RuntimeError("the database's insert failed")
        assert [name for name, _ in await driver.fetch(POOL)] == [pooled]
        exists = "SELECT 1 FROM pg_namespace WHERE nspname = $1"
        assert await driver.fetchval(exists, pooled) == 1
