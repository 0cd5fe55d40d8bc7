"""Provisioning and dropping schemas, and keeping the warm pool full.

The warm pool's schemas are at head and hold the template's rows already, as they were at
a template generation (`tenantry.schemas.template_generation`). Provisioning a database is
one transaction: lock the database row, take a pool schema and rename it (or create one at
head), copy the template's rows only when the schema does not hold them as they are now,
mark the database ready. A crash anywhere rolls all of it back, and the job, still queued,
runs again.
"""

import secrets

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry import failpoints
from tenantry.control.provisioning import repository
from tenantry.control.provisioning.repository import ClaimedJob
from tenantry.db.base import TEMPLATE_SCHEMA, stored_columns
from tenantry.db.migrate import driver_connection, head, schema_upgrade_sql, template_tables
from tenantry.db.schema_names import quote
from tenantry.kernel.enums import DatabaseStatus
from tenantry.models.control import SchemaKind

POOL_PREFIX = "pool_"
# Pool schemas made at once, across processes: PostgreSQL makes each on a core of its own,
# so a burst of creations drains the pool half as fast. Two refillers that both find the
# pool one short may leave it one over its size.
REFILLERS = 2


class ProvisioningError(Exception):
    """A step failed in a way worth retrying, with a reason fit for the status endpoint."""


def copy_template_sql(schema: str) -> str:
    """Copy the template's rows into `schema`, one statement per table, parents first; the
    tables kept by triggers fill themselves (a trigger fires once per statement)."""
    target, source = quote(schema), quote(TEMPLATE_SCHEMA)
    statements = []
    for table in template_tables():
        columns = ", ".join(f'"{column.name}"' for column in stored_columns(table))
        statements.append(
            f'INSERT INTO {target}."{table.name}" ({columns}) '  # noqa: S608  (names are ours)
            f'SELECT {columns} FROM {source}."{table.name}"'
        )
    return ";\n".join(statements) + ";\n"


def replace_rows_sql(schema: str) -> str:
    """Delete the rows of `schema` (children first; the counters follow), then copy the
    template's."""
    target = quote(schema)
    tables = reversed(template_tables())
    deletes = [f'DELETE FROM {target}."{table.name}"' for table in tables]  # noqa: S608
    return ";\n".join(deletes) + ";\n" + copy_template_sql(schema)


def holds_rows_sql(pooled: str, generation: int | None) -> str:
    """Record that the pool schema `pooled` holds the template's rows of `generation`, which
    was read before they were copied: a change committed meanwhile leaves the schema
    outdated (refreshed again), never taken for current."""
    recorded = "NULL" if generation is None else int(generation)
    return (
        f"UPDATE tenantry.schemas SET template_generation = {recorded}, "  # noqa: S608
        f"updated_at = now() WHERE name = '{pooled}';\n"
    )


def rename_pool_schema_sql(pooled: str, schema: str) -> str:
    """Give a pool schema its database's name, in the schema and in the registry."""
    old, new = quote(pooled), quote(schema)
    return (
        f"ALTER SCHEMA {old} RENAME TO {new};\n"
        f"UPDATE tenantry.schemas SET name = '{schema}', kind = '{SchemaKind.DATABASE}', "
        f"template_generation = NULL, updated_at = now() WHERE name = '{pooled}';\n"
    )


async def take_pooled(driver: asyncpg.Connection, schema: str) -> bool:
    """Rename a pool schema that is current (at head, the template's rows as they are now)
    to `schema`, in the caller's transaction: the new database is ready as it commits, with
    no job. False when the pool holds no such schema (then a job provisions it)."""
    pooled = await repository.claim_current_pool_schema(driver, head("tenant"))
    if pooled is None:
        return False
    await driver.execute(rename_pool_schema_sql(pooled, schema))
    return True


async def provision(driver: asyncpg.Connection, job: ClaimedJob) -> None:
    """Make the job's database ready and end the job, inside the caller's transaction."""
    assert job.database_id is not None
    version = head("tenant")
    found = await repository.find_for_provisioning(driver, job.database_id, version)
    if found is None or not found.pending:
        await repository.finish_job(driver, job.id)  # deleted, or done by an earlier run
        return
    if found.template_version != version:
        raise ProvisioningError("The template is not at the latest migration: run migrations.")
    failpoints.reach("provision.locked")
    if found.pooled is not None:
        await driver.execute(rename_pool_schema_sql(found.pooled, job.schema_name))
    else:
        await driver.execute(
            schema_upgrade_sql(job.schema_name, None, kind=SchemaKind.DATABASE, create=True)
        )
    failpoints.reach("provision.schema_ready")
    if found.pooled is None:
        await driver.execute(copy_template_sql(job.schema_name))
    elif not found.pooled_is_current:
        await driver.execute(replace_rows_sql(job.schema_name))
    failpoints.reach("provision.copied")
    await repository.mark_ready(driver, job.database_id, job.id)


async def drop(driver: asyncpg.Connection, job: ClaimedJob) -> None:
    """Drop the schema and forget it, and end the job, inside the caller's transaction."""
    await driver.execute(f"DROP SCHEMA IF EXISTS {quote(job.schema_name)} CASCADE")
    failpoints.reach("drop.dropped")
    await repository.forget_schema(driver, job.schema_name)
    await repository.finish_job(driver, job.id)


async def give_up(driver: asyncpg.Connection, job: ClaimedJob, reason: str) -> None:
    if job.database_id is not None:
        await repository.mark_database(driver, job.database_id, DatabaseStatus.FAILED, reason)
    await repository.finish_job(driver, job.id)


async def refill_pool(engine: AsyncEngine, size: int) -> bool:
    """Bring one pool schema up to date with the template's rows, or else add one (at head,
    holding them) if the pool holds fewer than `size`.

    Returns True when it did (call again), False when there was nothing to do, the template
    is not at head, or `REFILLERS` others (in any process) are refilling.
    """
    async with engine.connect() as connection:
        driver = await driver_connection(connection)
        async with driver.transaction():
            return await _refill_one(driver, size)


async def _refill_one(driver: asyncpg.Connection, size: int) -> bool:
    if not await repository.try_lock_pool(driver, REFILLERS):
        return False
    version = head("tenant")
    template = await repository.template(driver)
    if template is None or template.version != version:
        return False
    outdated = await repository.claim_outdated_pool_schema(driver, version, template.generation)
    if outdated is not None:
        await driver.execute(
            replace_rows_sql(outdated) + holds_rows_sql(outdated, template.generation)
        )
        return True
    if await repository.pool_size(driver, version) >= size:
        return False
    name = f"{POOL_PREFIX}{secrets.token_hex(8)}"
    await driver.execute(
        schema_upgrade_sql(name, None, kind=SchemaKind.POOL, create=True)
        + copy_template_sql(name)
        + holds_rows_sql(name, template.generation)
    )
    return True
