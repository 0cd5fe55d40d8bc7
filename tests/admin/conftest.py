"""An admin panel's browser, over HTTP against the real app: cookies kept, the CSRF token
read from the pages as a browser's script would."""

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from tests.control.conftest import PASSWORD, Registration, register, wait_for_status

BASE = "http://tenantry.test"
LOGIN_NONCE = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class AdminBrowser:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def login(self, email: str, client: str = "", password: str = PASSWORD) -> httpx.Response:
        page = await self.client.get("/admin/login")
        match = LOGIN_NONCE.search(page.text)
        assert match is not None, page.text
        form = {"csrf_token": match[1], "client": client, "email": email, "password": password}
        return await self.client.post("/admin/login", data=form, headers={"Origin": BASE})

    async def csrf(self, path: str = "/admin/") -> str:
        page = await self.client.get(path)
        match = CSRF_META.search(page.text)
        assert match is not None, page.text
        return match[1]

    async def post(
        self, path: str, data: dict[str, str], *, token: bool = True, **kwargs: object
    ) -> httpx.Response:
        if token:
            data = {**data, "csrf_token": await self.csrf()}
        return await self.client.post(path, data=data, headers={"Origin": BASE}, **kwargs)  # type: ignore[arg-type]


Browsers = Callable[[], AbstractAsyncContextManager[AdminBrowser]]


@pytest.fixture
def browsers(app: FastAPI) -> Browsers:
    @asynccontextmanager
    async def open_one() -> AsyncIterator[AdminBrowser]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield AdminBrowser(client)

    return open_one


async def ready_registration(client: httpx.AsyncClient, local: str = "admin") -> Registration:
    registration = await register(client, local)
    await wait_for_status(client, {"X-API-Key": registration.api_key})
    return registration


def database_id(registration: Registration) -> str:
    return str(registration.body["database"]["id"])
