import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tenantry.auth.tokens import TokenService, utcnow
from tenantry.control.provisioning.worker import Worker

PASSWORD = "correct horse battery staple"


@dataclass
class Registration:
    email: str
    body: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.body["token"])

    @property
    def api_key(self) -> str:
        return str(self.body["api_key"])

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(client: httpx.AsyncClient, local: str = "user") -> Registration:
    email = f"{local}.{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post("/v1/register/", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return Registration(email=email, body=response.json())


@pytest.fixture
async def registered(client: httpx.AsyncClient) -> Registration:
    return await register(client)


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    tokens: TokenService = app.state.tokens
    original = tokens.clock
    tokens.clock = clock = Clock()
    yield clock
    tokens.clock = original


async def wait_for_status(
    client: httpx.AsyncClient, headers: dict[str, str], wanted: str = "ready", within: float = 20
) -> dict[str, Any]:
    """Poll `GET databases/current/status/` until it says `wanted`."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await client.get("/v1/databases/current/status/", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] == wanted:
            return body
        assert asyncio.get_running_loop().time() < deadline, f"still {body} after {within} s"
        await asyncio.sleep(0.02)


async def add_space(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "probe"
) -> httpx.Response:
    """Write to the caller's schema: create a space."""
    return await client.post("/v1/spaces", headers=headers, json={"name": name})


async def space_names(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> list[str]:
    """The names of the spaces the caller reads (the template without credentials), sorted."""
    response = await client.get("/v1/spaces?limit=100", headers=headers or {})
    assert response.status_code == 200, response.text
    return sorted(space["name"] for space in response.json()["data"])


async def login_to(client: httpx.AsyncClient, email: str, db_id: str) -> dict[str, str]:
    response = await client.post(
        "/v1/login/individual/", json={"email": email, "password": PASSWORD, "db_id": db_id}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


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


@pytest.fixture
async def paused_worker(app: FastAPI) -> AsyncIterator[PausedWorker]:
    """The app's worker, stopped for the test (until `resume()`) and running after it."""
    handle = PausedWorker(app)
    await handle.pause()
    yield handle
    handle.resume()
    vars(handle.worker).pop("max_attempts", None)
    vars(handle.worker).pop("backoff", None)
