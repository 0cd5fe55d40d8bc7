"""SQL of jobs, the warm pool and database status, on the worker's own connection.

A job runs in one transaction of the driver's own (`asyncpg`): few round trips, each cheap,
since a database is ready only when its job commits."""

from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from sqlalchemy import String, cast, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tenantry.db.base import TEMPLATE_SCHEMA
from tenantry.kernel.enums import DatabaseStatus
from tenantry.models.control import AuditEvent, Job, SchemaKind

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


async def finish_job(driver: asyncpg.Connection, job_id: int) -> None:
    await driver.execute("DELETE FROM tenantry.jobs WHERE id = $1", job_id)


async def postpone_job(
    driver: asyncpg.Connection, job_id: int, error: str, delay: timedelta
) -> None:
    await driver.execute(
        "UPDATE tenantry.jobs SET last_error = $2, run_after = now() + $3::interval WHERE id = $1",
        job_id,
        error,
        delay,
    )


async def next_run_after(connection: AsyncConnection) -> float | None:
    """Seconds until the earliest postponed job is due, if any."""
    seconds = await connection.scalar(
        select(func.extract("epoch", func.min(Job.run_after) - func.now()))
    )
    return None if seconds is None else float(seconds)


@dataclass(frozen=True)
class Found:
    """What a provisioning job finds once it holds its database's row."""

    pending: bool
    template_version: str | None
    template_generation: int | None
    pooled: str | None  # a pool schema at head, locked for this job; None if none is free
    pooled_generation: int | None

    @property
    def pooled_is_current(self) -> bool:
        """Whether the pool schema holds the template's rows as they are now."""
        generation = self.pooled_generation
        return generation is not None and generation == self.template_generation


# The database's row, locked; the template's version and generation; and the oldest free
# pool schema at head, one holding the template's current rows first.
FIND = f"""
SELECT d.status = '{DatabaseStatus.PENDING}', t.version, t.template_generation,
       p.name, p.template_generation
FROM tenantry.databases AS d
LEFT JOIN tenantry.schemas AS t ON t.name = '{TEMPLATE_SCHEMA}'
LEFT JOIN LATERAL (
    SELECT name, template_generation FROM tenantry.schemas
    WHERE kind = '{SchemaKind.POOL}' AND version = $2
    ORDER BY template_generation IS NOT DISTINCT FROM t.template_generation DESC, created_at
    LIMIT 1 FOR UPDATE SKIP LOCKED
) AS p ON true
WHERE d.id = $1
FOR UPDATE OF d
"""  # noqa: S608  (our names)


# The oldest free pool schema at head holding the template's current rows, locked.
CURRENT_POOL_SCHEMA = f"""
SELECT p.name FROM tenantry.schemas AS p
JOIN tenantry.schemas AS t ON t.name = '{TEMPLATE_SCHEMA}' AND t.version = $1
WHERE p.kind = '{SchemaKind.POOL}' AND p.version = $1
  AND p.template_generation = t.template_generation
ORDER BY p.created_at LIMIT 1
FOR UPDATE OF p SKIP LOCKED
"""  # noqa: S608  (our names)


async def claim_current_pool_schema(driver: asyncpg.Connection, version: str) -> str | None:
    """A pool schema that a new database can take as it is (at `version`, the template's
    rows as they are now); other transactions skip it until this one ends. None if none."""
    name: str | None = await driver.fetchval(CURRENT_POOL_SCHEMA, version)
    return name


async def find_for_provisioning(
    driver: asyncpg.Connection, database_id: str, version: str
) -> Found | None:
    """One round trip: lock the database row, read the template's state, take a pool schema
    at `version` (other workers skip it until this transaction ends). None: no database."""
    row = await driver.fetchrow(FIND, database_id, version)
    return None if row is None else Found(*row)


MARK_READY = f"""
WITH finished AS (DELETE FROM tenantry.jobs WHERE id = $2)
UPDATE tenantry.databases SET status = '{DatabaseStatus.READY}', failure_reason = NULL,
    updated_at = now()
WHERE id = $1
"""  # noqa: S608  (our names)


async def mark_ready(driver: asyncpg.Connection, database_id: str, job_id: int) -> None:
    """The database is ready and its job done: one statement."""
    await driver.execute(MARK_READY, database_id, job_id)


async def mark_database(
    driver: asyncpg.Connection, database_id: str, status: str, reason: str | None = None
) -> None:
    await driver.execute(
        "UPDATE tenantry.databases SET status = $2, failure_reason = $3, updated_at = now() "
        "WHERE id = $1",
        database_id,
        status,
        reason,
    )


async def forget_schema(driver: asyncpg.Connection, name: str) -> None:
    await driver.execute("DELETE FROM tenantry.schemas WHERE name = $1", name)


@dataclass(frozen=True)
class Template:
    version: str | None
    generation: int | None


async def template(driver: asyncpg.Connection) -> Template | None:
    row = await driver.fetchrow(
        "SELECT version, template_generation FROM tenantry.schemas WHERE name = $1",
        TEMPLATE_SCHEMA,
    )
    return None if row is None else Template(*row)


async def claim_outdated_pool_schema(
    driver: asyncpg.Connection, version: str, generation: int | None
) -> str | None:
    """Take the oldest pool schema at `version` holding other rows than the template's
    `generation`; other workers skip it until commit."""
    name: str | None = await driver.fetchval(
        f"SELECT name FROM tenantry.schemas WHERE kind = '{SchemaKind.POOL}' "  # noqa: S608
        "AND version = $1 "
        "AND template_generation IS DISTINCT FROM $2 "
        "ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        version,
        generation,
    )
    return name


async def pool_size(driver: asyncpg.Connection, version: str) -> int:
    count: int = await driver.fetchval(
        f"SELECT count(*) FROM tenantry.schemas WHERE kind = '{SchemaKind.POOL}' "  # noqa: S608
        "AND version = $1",
        version,
    )
    return count


async def try_lock_pool(driver: asyncpg.Connection, refillers: int) -> bool:
    """One of at most `refillers` at a time, across processes, for this transaction."""
    for slot in range(refillers):
        locked: bool = await driver.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('tenantry.pool', $1))", slot
        )
        if locked:
            return True
    return False


async def expire_audit_events(connection: AsyncConnection, retention: timedelta) -> int:
    """Delete audit events older than `retention`; how many went."""
    result = await connection.execute(
        delete(AuditEvent).where(AuditEvent.created_at < func.now() - retention)
    )
    return int(getattr(result, "rowcount", 0) or 0)
