"""Bringing schemas to the head of their Alembic tree.

The control plane migrates through Alembic, online. The tenant tree runs in every data-plane
schema, tens of thousands of them: its revisions are rendered to SQL once per starting
revision (Alembic's offline mode), and each schema then migrates in one round trip and one
transaction, recording its new version in its own `alembic_version` and in the registry
`tenantry.schemas` together. Tenant revisions must therefore be plain SQL: no Python-side
reads of the database.
"""

import asyncio
import io
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, NoReturn

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Table, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantry.db.base import CONTROL_SCHEMA, TEMPLATE_SCHEMA, DataPlaneBase, kept_by_triggers
from tenantry.db.schema_names import quote

Tree = Literal["control", "tenant"]
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_LOCK = 0x74656E616E74  # one control-plane migrator at a time
RECYCLE_AFTER = 500  # schemas per connection: a backend caches the catalog of each it touches


def run_offline_unsupported() -> NoReturn:
    raise SystemExit("tenantry migrations run online only: use `tenantry migrate`")


@cache
def _config(tree: Tree) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / tree))
    return config


@cache
def _script(tree: Tree) -> ScriptDirectory:
    return ScriptDirectory.from_config(_config(tree))


@cache
def head(tree: Tree) -> str:
    revision = _script(tree).get_current_head()
    assert revision is not None, f"the {tree} tree has no revisions"
    return revision


def _upgrade(connection: Connection, tree: Tree) -> None:
    config = _config(tree)
    config.attributes.update(connection=connection)
    command.upgrade(config, "head")


async def upgrade_control(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, "control")


@cache
def tenant_sql(start: str | None) -> str:
    """The tenant tree's statements from revision `start` (None: an empty schema) to head,
    written without a schema name."""
    script = _script("tenant")
    output = io.StringIO()

    def revisions(revision: Any, _: Any) -> Any:
        return script._upgrade_revs("head", revision)

    with EnvironmentContext(
        _config("tenant"),
        script,
        fn=revisions,
        as_sql=True,
        starting_rev=start,
        destination_rev="head",
    ) as environment:
        environment.configure(
            dialect_name="postgresql",
            output_buffer=output,
            transactional_ddl=False,
            target_metadata=DataPlaneBase.metadata,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},  # SQL as written: no doubled `%`
        )
        with environment.begin_transaction():
            environment.run_migrations()
    return output.getvalue()


def schema_upgrade_sql(schema: str, start: str | None, *, kind: str, create: bool) -> str:
    """Statements (no transaction control) that bring `schema` from `start` to the tenant
    head and record it in the registry as `kind` (kept when the schema is registered)."""
    # Only server-made names and revisions reach here, so they are safe as literals too.
    name = quote(schema)
    target = head("tenant")
    statements = [f"SELECT pg_advisory_xact_lock(hashtext('{schema}'))"]
    if create:
        statements.append(f"CREATE SCHEMA {name}")
    statements.append(f"SET LOCAL search_path TO {name}")
    if start is not None:
        statements.append(
            "DO $$ BEGIN IF (SELECT version_num FROM alembic_version) IS DISTINCT FROM "  # noqa: S608
            f"'{start}' THEN RAISE EXCEPTION 'schema {schema} is not at revision {start}'; "
            "END IF; END $$"
        )
    if start != target:
        statements.append(tenant_sql(start).strip().rstrip(";"))
    statements.append("SET LOCAL search_path TO pg_catalog")
    statements.append(
        "INSERT INTO tenantry.schemas (name, kind, version) "  # noqa: S608
        f"VALUES ('{schema}', '{kind}', '{target}') ON CONFLICT (name) DO UPDATE "
        "SET version = excluded.version, updated_at = now()"
    )
    return ";\n".join(statements) + ";\n"


async def driver_connection(connection: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under `connection`, for multi-statement scripts."""
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


def template_tables() -> list[Table]:
    """The tables whose rows the template holds and every new database starts with, parents
    first: all but those the counting triggers derive from the others."""
    tables = DataPlaneBase.metadata.sorted_tables
    return [table for table in tables if not kept_by_triggers(table)]


TEMPLATE_CHANGED = "template_changed"
TRACKED = (
    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "  # noqa: S608
    f"WHERE t.tgname = '{TEMPLATE_CHANGED}' "
    f"AND c.relnamespace = '{TEMPLATE_SCHEMA}'::regnamespace"
)


def template_tracking_sql(tracked: set[str]) -> str:
    """Statements that make every write to the template's rows count a new generation
    (`tenantry.template_changed()`, control migration 0011), on the tables not `tracked`
    yet; the warm pool's schemas are filled at a generation and refreshed when it moves."""
    template = quote(TEMPLATE_SCHEMA)
    statements = [
        f"CREATE TRIGGER {TEMPLATE_CHANGED} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f'ON {template}."{table.name}" FOR EACH STATEMENT '
        "EXECUTE FUNCTION tenantry.template_changed()"
        for table in template_tables()
        if table.name not in tracked
    ]
    statements.append(
        "UPDATE tenantry.schemas SET template_generation = 0 "  # noqa: S608
        f"WHERE name = '{TEMPLATE_SCHEMA}' AND template_generation IS NULL"
    )
    return ";\n".join(statements) + ";\n"


async def upgrade_template(engine: AsyncEngine) -> None:
    """Bring the template (`public`) to the tenant head; register it; count its changes."""
    async with engine.connect() as connection:
        driver = await driver_connection(connection)
        async with driver.transaction():
            await driver.execute(f"SELECT pg_advisory_xact_lock(hashtext('{TEMPLATE_SCHEMA}'))")
            start = None
            if await driver.fetchval("SELECT to_regclass('public.alembic_version')"):
                start = await driver.fetchval("SELECT version_num FROM public.alembic_version")
            await driver.execute(
                schema_upgrade_sql(TEMPLATE_SCHEMA, start, kind="template", create=False)
            )
            tracked = {row[0] for row in await driver.fetch(TRACKED)}
            await driver.execute(template_tracking_sql(tracked))


async def create_schema(engine: AsyncEngine, schema: str, *, kind: str) -> None:
    """Create `schema` at the tenant head, registered as `kind`, in one transaction."""
    async with engine.connect() as connection:
        driver = await driver_connection(connection)
        async with driver.transaction():
            await driver.execute(schema_upgrade_sql(schema, None, kind=kind, create=True))


async def upgrade_all(engine: AsyncEngine) -> None:
    """The control plane and the template: what the server needs before it starts."""
    await upgrade_control(engine)
    await upgrade_template(engine)


@dataclass(frozen=True)
class RegisteredSchema:
    name: str
    kind: str
    version: str | None

    @property
    def behind(self) -> bool:
        return self.version != head("tenant")


async def registered_schemas(connection: AsyncConnection) -> list[RegisteredSchema]:
    """Every live data-plane schema with its version, in one query."""
    rows = await connection.execute(
        text(
            "SELECT name, kind, version FROM tenantry.schemas "
            "WHERE kind <> 'dropping' ORDER BY name"
        )
    )
    return [RegisteredSchema(*row) for row in rows]


@dataclass(frozen=True)
class Outcome:
    schema: str
    error: str | None = None


async def _upgrade_one(driver: asyncpg.Connection, schema: RegisteredSchema) -> Outcome:
    script = schema_upgrade_sql(schema.name, schema.version, kind=schema.kind, create=False)
    try:
        await driver.execute(f"BEGIN;\n{script}COMMIT;")
    except asyncpg.PostgresError as error:
        await driver.execute("ROLLBACK")
        return Outcome(schema.name, f"{type(error).__name__}: {error}")
    return Outcome(schema.name)


async def upgrade_schemas(
    engine: AsyncEngine,
    schemas: Sequence[RegisteredSchema],
    *,
    concurrency: int,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Migrate `schemas` on `concurrency` connections, each schema in one transaction.

    A failing schema is reported in its outcome; the others carry on.
    """
    queue = deque(schemas)
    outcomes: list[Outcome] = []

    async def work() -> None:
        while queue:
            async with engine.connect() as connection:
                driver = await driver_connection(connection)
                for _ in range(RECYCLE_AFTER):
                    if not queue:
                        break
                    outcome = await _upgrade_one(driver, queue.popleft())
                    outcomes.append(outcome)
                    if on_done is not None:
                        on_done(outcome)
                await connection.invalidate()  # a fresh backend, with an empty catalog cache

    await asyncio.gather(*(work() for _ in range(max(1, concurrency))))
    return outcomes


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
