"""SQL of jobs, the warm pool and database status, on the worker's own connection."""

from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from sqlalchemy import String, cast, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tenantry.control.models import Database, DatabaseStatus, Job, SchemaKind, TenantSchema
from tenantry.db.base import TEMPLATE_SCHEMA

CHANNEL = "tenantry_jobs"


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    database_id: str | None
    schema_name: str
    attempts: int
    last_error: str | None


async def add_job(
    session: AsyncSession, kind: str, schema_name: str, database_id: str | None = None
) -> None:
    """Queue a job; the workers listening are woken when the transaction commits."""
    queued = (
        insert(Job)
        .values(kind=kind, schema_name=schema_name, database_id=database_id)
        .returning(Job.id)
        .cte("queued")
    )
    notify = select(func.pg_notify(CHANNEL, cast(queued.c.id, String)))
    await session.execute(notify)  # one round trip: the insert and the NOTIFY


# One statement, outside any transaction: take the first due job no other worker holds,
# under a session-level advisory lock (released by `release_jobs`, or when the connection
# dies with its process), and count the attempt before it runs, so that a job that kills
# its worker still runs out of attempts.
CLAIM = """
UPDATE tenantry.jobs SET attempts = attempts + 1
WHERE id = (
    SELECT id FROM (
        SELECT id FROM tenantry.jobs WHERE run_after <= now() ORDER BY id LIMIT 16
    ) AS due
    WHERE pg_try_advisory_lock(hashtextextended('tenantry.job.' || id, 0))
    LIMIT 1
)
RETURNING id, kind, database_id, schema_name, attempts, last_error
"""


async def claim_job(driver: asyncpg.Connection) -> ClaimedJob | None:
    row = await driver.fetchrow(CLAIM)
    return None if row is None else ClaimedJob(*row)


async def release_jobs(driver: asyncpg.Connection) -> None:
    """Drop the job locks this connection holds (the only session locks it takes)."""
    await driver.execute("SELECT pg_advisory_unlock_all()")


async def finish_job(connection: AsyncConnection, job_id: int) -> None:
    await connection.execute(delete(Job).where(Job.id == job_id))


async def postpone_job(
    connection: AsyncConnection, job_id: int, error: str, delay: timedelta
) -> None:
    await connection.execute(
        update(Job).where(Job.id == job_id).values(last_error=error, run_after=func.now() + delay)
    )


async def next_run_after(connection: AsyncConnection) -> float | None:
    """Seconds until the earliest postponed job is due, if any."""
    seconds = await connection.scalar(
        select(func.extract("epoch", func.min(Job.run_after) - func.now()))
    )
    return None if seconds is None else float(seconds)


async def lock_pending_database(
    connection: AsyncConnection, database_id: str
) -> tuple[bool, str | None]:
    """Lock the database row: whether it is still pending, and the template's version."""
    template = (
        select(TenantSchema.version).where(TenantSchema.name == TEMPLATE_SCHEMA).scalar_subquery()
    )
    row = (
        await connection.execute(
            select(Database.status, template)
            .where(Database.id == database_id)
            .with_for_update(of=Database)
        )
    ).one_or_none()
    if row is None:
        return False, None
    return row[0] == DatabaseStatus.PENDING, row[1]


async def mark_database(
    connection: AsyncConnection, database_id: str, status: str, reason: str | None = None
) -> None:
    await connection.execute(
        update(Database)
        .where(Database.id == database_id)
        .values(status=status, failure_reason=reason, updated_at=func.now())
    )


async def claim_pool_schema(connection: AsyncConnection, version: str) -> str | None:
    """Take the oldest pool schema at `version`; other workers skip it until commit."""
    return await connection.scalar(
        select(TenantSchema.name)
        .where(TenantSchema.kind == SchemaKind.POOL, TenantSchema.version == version)
        .order_by(TenantSchema.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def forget_schema(connection: AsyncConnection, name: str) -> None:
    await connection.execute(delete(TenantSchema).where(TenantSchema.name == name))


async def pool_size(connection: AsyncConnection, version: str) -> int:
    count = await connection.scalar(
        select(func.count())
        .select_from(TenantSchema)
        .where(TenantSchema.kind == SchemaKind.POOL, TenantSchema.version == version)
    )
    return int(count or 0)


async def try_lock_pool(connection: AsyncConnection) -> bool:
    """One refiller at a time, across processes, for this transaction."""
    locked = await connection.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended('tenantry.pool', 0))")
    )
    return bool(locked)
