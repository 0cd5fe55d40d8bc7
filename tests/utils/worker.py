"""The app's provisioning worker, stopped and started again by a test."""

import asyncio
from contextlib import suppress

from fastapi import FastAPI
from sqlalchemy import text

from tenantry.control.provisioning.worker import Worker

# A pool schema a new database would take at once, held for outdated: the database waits
# for its job (which refreshes the schema's rows), as it does when the pool is empty.
OUTDATE_POOL = "UPDATE tenantry.schemas SET template_generation = NULL WHERE kind = 'pool'"


class PausedWorker:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.worker: Worker = app.state.worker

    async def pause(self) -> None:
        """Stop the worker; from now on a new database is `pending` until `resume()`."""
        task: asyncio.Task[None] = self.app.state.worker_task
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        async with self.worker.engine.begin() as connection:
            await connection.execute(text(OUTDATE_POOL))

    def resume(self) -> None:
        if self.app.state.worker_task.done():
            self.app.state.worker_task = asyncio.create_task(self.worker.run())
