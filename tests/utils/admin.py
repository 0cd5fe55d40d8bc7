"""An admin panel's browser, over HTTP against the real app: cookies kept, the CSRF token
read from the pages as a browser's script would."""

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from tests.utils.factories import PASSWORD

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
