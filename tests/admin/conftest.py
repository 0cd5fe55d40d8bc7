"""The admin panel's browsers, over HTTP against the real app (`tests.utils.admin`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from tests.utils.admin import BASE, AdminBrowser, Browsers


@pytest.fixture
def browsers(app: FastAPI) -> Browsers:
    @asynccontextmanager
    async def open_one() -> AsyncIterator[AdminBrowser]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield AdminBrowser(client)

    return open_one
