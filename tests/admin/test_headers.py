"""Every /admin response forbids framing and sniffing, and no redirect or page of the
panel names the host that the request's Host header claims."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tests.utils.admin import CSRF_META, LOGIN_NONCE
from tests.utils.factories import PASSWORD, Registration, ready_registration

EVIL = "http://evil.example"


@asynccontextmanager
async def evil_host(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser whose requests say `Host: evil.example` (and come from its pages)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url=EVIL, headers={"Origin": EVIL}
    ) as client:
        yield client


async def log_in(client: httpx.AsyncClient, registration: Registration) -> httpx.Response:
    page = await client.get("/admin/login")
    nonce = LOGIN_NONCE.search(page.text)
    assert nonce is not None, page.text
    form = {"email": registration.email, "password": PASSWORD, "client": registration.database_id}
    return await client.post("/admin/login", data={**form, "csrf_token": nonce[1]})


async def csrf(client: httpx.AsyncClient) -> str:
    match = CSRF_META.search((await client.get("/admin/")).text)
    assert match is not None
    return match[1]


def assert_local(response: httpx.Response) -> None:
    assert response.is_redirect, (response.request.url, response.status_code, response.text)
    location = response.headers["location"]
    assert "evil.example" not in location, location
    assert location.startswith("/admin"), location


def assert_not_framed(response: httpx.Response) -> None:
    where = (response.request.method, response.request.url.path, response.status_code)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"], where
    assert response.headers["x-frame-options"] == "DENY", where
    assert response.headers["x-content-type-options"] == "nosniff", where


class TestRedirects:
    async def test_anonymous(self, app: FastAPI) -> None:
        async with evil_host(app) as client:
            for path in ("/admin", "/admin/", "/admin/login/", "/admin/statics", "/admin/logout"):
                assert_local(await client.get(path))
            assert_local(await client.get("/admin/space/list"))
            assert_local(await client.get("/admin/space/list/"))  # the admin's own trailing "/"

    async def test_logged_in(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        registration = await ready_registration(client)
        async with evil_host(app) as evil:
            assert_local(await log_in(evil, registration))
            assert_local(await evil.get("/admin/login"))
            form = {"name": "s", "description": "", "extra": "{}", "csrf_token": await csrf(evil)}
            assert_local(await evil.post("/admin/space/create", data=form))
            form = {"database_id": registration.database_id, "csrf_token": await csrf(evil)}
            assert_local(await evil.post("/admin/switch", data=form))
            assert_local(await evil.get("/admin/logout"))

    async def test_the_login_page_names_no_host(self, app: FastAPI) -> None:
        async with evil_host(app) as client:
            page = await client.get("/admin/login")
        assert page.status_code == 200
        assert "evil.example" not in page.text
        assert re.search(r'action="/admin/login"', page.text), page.text


class TestFraming:
    async def test_every_response(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        registration = await ready_registration(client)
        async with evil_host(app) as evil:
            assert_not_framed(await evil.get("/admin"))  # the main application's redirect
            assert_not_framed(await evil.get("/admin/"))
            assert_not_framed(await evil.get("/admin/login"))
            assert_not_framed(await evil.get("/admin/statics/css/main.css"))
            assert_not_framed(await evil.get("/admin/nowhere"))
            assert_not_framed(await evil.post("/admin/login", data={"email": "x"}))  # 403
            assert_not_framed(await log_in(evil, registration))
            assert_not_framed(await evil.get("/admin/"))
            assert_not_framed(await evil.get("/admin/space/list"))
