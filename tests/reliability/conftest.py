"""The reliability suite's fixtures: a database of its own, its template filled, and the
real app running on an event loop of its own (a portal), so that synchronous Hypothesis
state machines can drive it over HTTP."""

import base64
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.data import template
from tenantry.db.engine import create_engine
from tenantry.db.migrate import upgrade_all
from tenantry.db.sessions import tenant_session
from tests.conftest import create_database, drop_database, make_settings

T = TypeVar("T")
TEMPLATE_MARK = "tmplmark"
SPACE_ID = "0c5b8f8e-7d1e-4d8a-9a4f-2f6f3c1b2a01"
MODEL_ID = "0c5b8f8e-7d1e-4d8a-9a4f-2f6f3c1b2a02"
DOCUMENT_ID = f"{TEMPLATE_MARK}-doc"
TENANT_ID = f"{TEMPLATE_MARK}-tenant"
ITEM_ID = "0c5b8f8e-7d1e-4d8a-9a4f-2f6f3c1b2a03"
USER_ID = "0c5b8f8e-7d1e-4d8a-9a4f-2f6f3c1b2a04"
STAMP = "2026-01-02T03:04:05+00:00"
TEMPLATE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


TEMPLATE: dict[str, Any] = {
    "spaces": [
        {
            "space_id": SPACE_ID,
            "name": f"{TEMPLATE_MARK} lobby",
            "description": None,
            "metadata": {"mark": TEMPLATE_MARK},
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ],
    "space_backgrounds": [
        {
            "space_id": SPACE_ID,
            "content_type": "image/png",
            "sha256": "0" * 64,
            "data": _b64(TEMPLATE_PNG),
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ],
    "tenant_models": [
        {
            "tenant_model_id": MODEL_ID,
            "name": f"{TEMPLATE_MARK} model",
            "description": None,
            "model_id": None,
            "alias": None,
            "is_enabled": True,
            "overrides": {},
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ],
    "documents": [
        {
            "id": DOCUMENT_ID,
            "title": f"{TEMPLATE_MARK} title",
            "content": "",
            "content_type": "plaintext",
            "language": "en",
            "metadata": {},
            "source_uri": None,
            "tenant_id": TENANT_ID,
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ],
    "items": [{"item_id": _b64(uuid.UUID(ITEM_ID).bytes), "properties": {"m": TEMPLATE_MARK}}],
    "users": [{"user_id": _b64(uuid.UUID(USER_ID).bytes), "properties": {"m": TEMPLATE_MARK}}],
    "ratings": [
        {
            "user_id": _b64(uuid.UUID(USER_ID).bytes),
            "item_id": _b64(uuid.UUID(ITEM_ID).bytes),
            "rating": 5.0,
            "timestamp": 1.0,
        },
    ],
}


@dataclass
class Served:
    """The app, on the portal's event loop, and a client of it over HTTP (ASGI)."""

    portal: BlockingPortal
    app: FastAPI
    client: httpx.AsyncClient
    database_url: str

    def run(self, function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        return self.portal.call(partial(function, *args, **kwargs))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.client.request, method, path, **kwargs)


async def _prepare(url: str, settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await upgrade_all(engine)
        async with tenant_session(engine, "public") as session:
            await template.load(session, TEMPLATE)
    finally:
        await engine.dispose()


def serve_app(postgres_server: str, data_dir: Path, **overrides: object) -> Iterator[Served]:
    """A fresh database (template filled) and the app on it, for one test module."""
    values: dict[str, object] = {
        "rate_limit": "none",
        "access_token_ttl": timedelta(hours=2),
        "warm_pool_size": 2,
        "log_level": "warning",
    }
    with start_blocking_portal() as portal:
        url = portal.call(create_database, postgres_server)
        settings = make_settings(url, data_dir, **(values | overrides))
        try:
            portal.call(_prepare, url, settings)
            app = create_app(settings)
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            client = httpx.AsyncClient(transport=transport, base_url="http://tenantry.test")
            with portal.wrap_async_context_manager(app.router.lifespan_context(app)):
                yield Served(portal, app, client, url)
                portal.call(client.aclose)
        finally:
            portal.call(drop_database, url)


@pytest.fixture(scope="module")
def served(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_app(postgres_server, tmp_path_factory.mktemp("reliability"))
