"""Provisioning and dropping schemas, and keeping the warm pool full.

Provisioning a database is one transaction: lock the database row, take a pool schema
(renamed) or create one at head, copy the template's rows, mark the database ready. A crash
anywhere rolls all of it back, and the job, still queued, runs again.
"""

import secrets

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantry import failpoints
from tenantry.control.models import DatabaseStatus, SchemaKind
from tenantry.control.provisioning import repository
from tenantry.control.provisioning.repository import ClaimedJob
from tenantry.data import models
from tenantry.db.base import TEMPLATE_SCHEMA, DataPlaneBase
from tenantry.db.migrate import driver_connection, head, schema_upgrade_sql
from tenantry.db.schema_names import quote

POOL_PREFIX = "pool_"


class ProvisioningError(Exception):
    """A step failed in a way worth retrying, with a reason fit for the status endpoint."""


def copy_template_sql(schema: str) -> str:
    """Copy every data-plane table's rows from the template into `schema`, parents first;
    the tables kept by triggers fill themselves."""
    target, source = quote(schema), quote(TEMPLATE_SCHEMA)
    statements = []
    for table in DataPlaneBase.metadata.sorted_tables:
        if table.name in models.KEPT_BY_TRIGGERS:
            continue
        columns = ", ".join(f'"{column.name}"' for column in table.columns)
        statements.append(
            f'INSERT INTO {target}."{table.name}" ({columns}) '  # noqa: S608  (names are ours)
            f'SELECT {columns} FROM {source}."{table.name}"'
        )
    return ";\n".join(statements) + ";\n"


def rename_pool_schema_sql(pooled: str, schema: str) -> str:
    """Give a pool schema its database's name, in the schema and in the registry."""
    old, new = quote(pooled), quote(schema)
    return (
        f"ALTER SCHEMA {old} RENAME TO {new};\n"
        f"UPDATE tenantry.schemas SET name = '{schema}', kind = '{SchemaKind.DATABASE}', "
        f"updated_at = now() WHERE name = '{pooled}';\n"
    )


async def provision(connection: AsyncConnection, job: ClaimedJob) -> None:
    """Make the job's database ready, inside the caller's transaction."""
    assert job.database_id is not None
    pending, template_version = await repository.lock_pending_database(connection, job.database_id)
    if not pending:
        return  # deleted, or finished by an earlier run
    version = head("tenant")
    if template_version != version:
        raise ProvisioningError("The template is not at the latest migration: run migrations.")
    failpoints.reach("provision.locked")
    driver = await driver_connection(connection)
    pooled = await repository.claim_pool_schema(connection, version)
    if pooled is not None:
        await driver.execute(rename_pool_schema_sql(pooled, job.schema_name))
    else:
        await driver.execute(
            schema_upgrade_sql(job.schema_name, None, kind=SchemaKind.DATABASE, create=True)
        )
    failpoints.reach("provision.schema_ready")
    await driver.execute(copy_template_sql(job.schema_name))
    failpoints.reach("provision.copied")
    await repository.mark_database(connection, job.database_id, DatabaseStatus.READY)


async def drop(connection: AsyncConnection, job: ClaimedJob) -> None:
    driver = await driver_connection(connection)
    await driver.execute(f"DROP SCHEMA IF EXISTS {quote(job.schema_name)} CASCADE")
    failpoints.reach("drop.dropped")
    await repository.forget_schema(connection, job.schema_name)


async def give_up(connection: AsyncConnection, job: ClaimedJob, reason: str) -> None:
    if job.database_id is not None:
        await repository.mark_database(connection, job.database_id, DatabaseStatus.FAILED, reason)


async def refill_pool(engine: AsyncEngine, size: int) -> bool:
    """Add one schema at head to the warm pool if it holds fewer than `size`.

    Returns True when it added one (call again), False when the pool is full or another
    process is refilling it.
    """
    async with engine.connect() as connection, connection.begin():
        if not await repository.try_lock_pool(connection):
            return False
        if await repository.pool_size(connection, head("tenant")) >= size:
            return False
        name = f"{POOL_PREFIX}{secrets.token_hex(8)}"
        driver = await driver_connection(connection)
        await driver.execute(schema_upgrade_sql(name, None, kind=SchemaKind.POOL, create=True))
    return True
