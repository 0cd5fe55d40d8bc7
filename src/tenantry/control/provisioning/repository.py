"""SQL of jobs, the warm pool and database status, on the worker's own connection."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tenantry.control.models import Database, DatabaseStatus, Job, SchemaKind, TenantSchema

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
    await session.execute(
        insert(Job).values(kind=kind, schema_name=schema_name, database_id=database_id)
    )
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


async def due_job_ids(connection: AsyncConnection, limit: int) -> list[int]:
    rows = await connection.execute(
        select(Job.id).where(Job.run_after <= func.now()).order_by(Job.id).limit(limit)
    )
    return list(rows.scalars())


def _lock_key(job_id: int) -> str:
    return f"tenantry.job.{job_id}"


async def try_lock_job(connection: AsyncConnection, job_id: int) -> bool:
    """A session-level lock on the job: released by `unlock_job` or when the process dies."""
    locked = await connection.scalar(
        text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))"),
        {"key": _lock_key(job_id)},
    )
    return bool(locked)


async def unlock_job(connection: AsyncConnection, job_id: int) -> None:
    await connection.execute(
        text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))"), {"key": _lock_key(job_id)}
    )


async def start_attempt(connection: AsyncConnection, job_id: int) -> ClaimedJob | None:
    """Count an attempt before running it, so a job that kills its worker still runs out."""
    row = (
        await connection.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(attempts=Job.attempts + 1)
            .returning(
                Job.id,
                Job.kind,
                Job.database_id,
                Job.schema_name,
                Job.attempts,
                Job.last_error,
            )
        )
    ).one_or_none()
    return None if row is None else ClaimedJob(*row)


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


async def lock_pending_database(connection: AsyncConnection, database_id: str) -> bool:
    status = await connection.scalar(
        select(Database.status).where(Database.id == database_id).with_for_update()
    )
    return status == DatabaseStatus.PENDING


async def mark_database(
    connection: AsyncConnection, database_id: str, status: str, reason: str | None = None
) -> None:
    await connection.execute(
        update(Database)
        .where(Database.id == database_id)
        .values(status=status, failure_reason=reason, updated_at=func.now())
    )


async def schema_version(connection: AsyncConnection, name: str) -> str | None:
    return await connection.scalar(select(TenantSchema.version).where(TenantSchema.name == name))


async def claim_pool_schema(connection: AsyncConnection, version: str) -> str | None:
    """Take the oldest pool schema at `version`; other workers skip it until commit."""
    return await connection.scalar(
        select(TenantSchema.name)
        .where(TenantSchema.kind == SchemaKind.POOL, TenantSchema.version == version)
        .order_by(TenantSchema.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def rename_schema_entry(connection: AsyncConnection, old: str, new: str, kind: str) -> None:
    await connection.execute(
        update(TenantSchema)
        .where(TenantSchema.name == old)
        .values(name=new, kind=kind, updated_at=func.now())
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
