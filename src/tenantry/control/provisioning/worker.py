"""The in-process worker: runs queued jobs, woken by NOTIFY, and keeps the warm pool full.

Several processes may run it. A job is claimed with a session-level advisory lock, so no
two workers run one job at once and a job whose worker died is free again at once. Every
attempt is counted before it runs; a job that fails (or kills its worker) too often marks
its database `failed` with the last error as the reason.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantry import idempotency, traffic
from tenantry.control.provisioning import repository, service
from tenantry.control.provisioning.repository import CHANNEL, ClaimedJob
from tenantry.db.migrate import RECYCLE_AFTER, driver_connection
from tenantry.db.sessions import after_commit
from tenantry.metrics import Metrics
from tenantry.models.control import JobKind

logger = logging.getLogger("tenantry.worker")

RESTART_DELAY = 2.0
EXPIRY_INTERVAL = 600.0  # seconds between sweeps of old idempotency records
IDLE_WAKEUP = 30.0  # seconds: a safety net; NOTIFY is what wakes the worker

Handler = Callable[[asyncpg.Connection, ClaimedJob], Awaitable[None]]
HANDLERS: dict[str, Handler] = {JobKind.PROVISION: service.provision, JobKind.DROP: service.drop}


@dataclass(frozen=True)
class JobHandler:
    """A kind of job whose code lives above the control plane (training, in the data plane):
    `run` manages its own transactions (a long job holds none while it computes) and ends
    the job itself; `give_up` records the last failure, where that kind shows it, and ends
    it. The app hands them to the worker."""

    run: Handler
    give_up: Callable[[asyncpg.Connection, ClaimedJob, str], Awaitable[None]]


def _being_cancelled() -> bool:
    """Cancelled mid-query, a worker may see the driver's error instead of the cancel."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class Worker:
    max_attempts = 5

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        pool_size: int,
        concurrency: int,
        idempotency_retention: timedelta = timedelta(hours=24),
        audit_retention: timedelta = timedelta(days=365),
        handlers: Mapping[str, JobHandler] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.handlers = dict(handlers or {})
        self.pool_size = pool_size
        self.concurrency = concurrency
        self.idempotency_retention = idempotency_retention
        self.audit_retention = audit_retention
        self._wake = asyncio.Event()
        self._expired_at = 0.0

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(60, 2**attempts))

    async def run(self) -> None:
        """Run until cancelled, restarting after a lost connection."""
        while True:
            try:
                await self._run()
            except Exception:  # a lost connection, or a database not migrated yet
                if _being_cancelled():
                    raise asyncio.CancelledError from None  # stopping, not failing
                logger.exception("worker stopped; restarting in %s s", RESTART_DELAY)
                await asyncio.sleep(RESTART_DELAY)

    async def _run(self) -> None:
        async with self.engine.connect() as listener:
            driver = await driver_connection(listener)
            await driver.add_listener(CHANNEL, self._notified)
            try:
                self._wake.set()  # look for work queued while no one listened
                await asyncio.gather(*(self._loop() for _ in range(self.concurrency)))
            finally:
                await driver.remove_listener(CHANNEL, self._notified)

    def _notified(self, *_: object) -> None:
        self.wake()

    def wake(self) -> None:
        """Look for work now: a job queued by this process has committed (its NOTIFY, a
        round trip through PostgreSQL, still wakes the other processes)."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            # A fresh backend now and then: each one caches the catalog of every schema
            # it touches, and provisioning touches a new schema every time.
            async with self.engine.connect() as connection:
                for _ in range(RECYCLE_AFTER):
                    if _being_cancelled():  # a cancel that a library caught on the way
                        raise asyncio.CancelledError
                    # Cleared before looking for work: a notice arriving while this loop
                    # looks (or expires old rows) still wakes its sleep.
                    self._wake.clear()
                    if await self.run_one(connection):
                        continue
                    if self.pool_size and await service.refill_pool(self.engine, self.pool_size):
                        continue
                    await self._expire_idempotency(connection)
                    await self._sleep(connection)
                await connection.invalidate()

    async def _expire_idempotency(self, connection: AsyncConnection) -> None:
        """Forget old Idempotency-Key answers, audit events and days of traffic older
        than their retention, at most once per EXPIRY_INTERVAL."""
        if time.monotonic() - self._expired_at < EXPIRY_INTERVAL:
            return
        self._expired_at = time.monotonic()
        async with connection.begin():
            gone = await idempotency.expire(connection, self.idempotency_retention)
            events = await repository.expire_audit_events(connection, self.audit_retention)
            await connection.execute(traffic.EXPIRE, {"before": date.today() - traffic.RETENTION})
        if gone:
            logger.info("idempotency records expired", extra={"fields": {"count": gone}})
        if events:
            logger.info("audit events expired", extra={"fields": {"count": events}})

    async def _sleep(self, connection: AsyncConnection) -> None:
        async with connection.begin():
            due_in = await repository.next_run_after(connection)
        timeout = IDLE_WAKEUP if due_in is None else min(IDLE_WAKEUP, max(0.0, due_in))
        with suppress(TimeoutError):  # not wait_for: on 3.11 it can swallow a cancel
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def run_one(self, connection: AsyncConnection) -> bool:
        """Run one due job on `connection`; False when none was free."""
        driver = await driver_connection(connection)
        job = await repository.claim_job(driver)
        try:
            if job is not None:
                await self._attempt(driver, job)
        finally:
            await repository.release_jobs(driver)
        return job is not None

    async def _attempt(self, driver: asyncpg.Connection, job: ClaimedJob) -> None:
        if job.attempts > self.max_attempts:
            reason = job.last_error or "The worker stopped while running this job."
            await self._give_up(driver, job, reason)
            return
        started = time.perf_counter()
        try:
            handler = self.handlers.get(job.kind)
            if handler is not None:
                await handler.run(driver, job)
            else:
                async with driver.transaction():  # the handler ends the job too
                    await HANDLERS[job.kind](driver, job)
        except Exception as error:  # any failure of a step is retried, then reported
            reason = str(error) if isinstance(error, service.ProvisioningError) else repr(error)
            logger.warning("job %s (%s) failed: %s", job.id, job.kind, reason)
            self._timed(job, "failed", started)
            if job.attempts >= self.max_attempts:
                await self._give_up(driver, job, reason)
            else:
                async with driver.transaction():
                    await repository.postpone_job(
                        driver, job.id, reason, self.backoff(job.attempts)
                    )
        else:
            self._timed(job, "done", started)
            fields = {
                "job_id": job.id,
                "kind": job.kind,
                "schema": job.schema_name,
                "attempt": job.attempts,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            logger.info("job done", extra={"fields": fields})

    def _timed(self, job: ClaimedJob, outcome: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.job(job.kind, outcome, time.perf_counter() - started)

    async def _give_up(self, driver: asyncpg.Connection, job: ClaimedJob, reason: str) -> None:
        logger.error("job %s (%s) gave up: %s", job.id, job.kind, reason)
        handler = self.handlers.get(job.kind)
        async with driver.transaction():
            if handler is not None:
                await handler.give_up(driver, job, reason)
            else:
                await service.give_up(driver, job, reason)


def wake_after_commit(request: Request) -> None:
    """Have this process's worker (if it runs one) look for work as soon as the request's
    transaction commits: the job it queued starts without waiting for its NOTIFY."""
    worker: Worker | None = getattr(request.app.state, "worker", None)
    if worker is not None:
        after_commit(request, worker.wake)
