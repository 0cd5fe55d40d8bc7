"""The app's provisioning worker, stopped and started again by a test."""

import asyncio
from contextlib import suppress

from fastapi import FastAPI

from tenantry.control.provisioning.worker import Worker


class PausedWorker:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.worker: Worker = app.state.worker

    async def pause(self) -> None:
        task: asyncio.Task[None] = self.app.state.worker_task
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    def resume(self) -> None:
        if self.app.state.worker_task.done():
            self.app.state.worker_task = asyncio.create_task(self.worker.run())
