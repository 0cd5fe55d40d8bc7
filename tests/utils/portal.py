"""The real app on an event loop of its own (a portal), on a fresh database whose template
holds `MARKED_TEMPLATE`, so that synchronous code (Hypothesis state machines) can drive it
over HTTP."""

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.data import template
from tenantry.db.engine import create_engine
from tenantry.db.migrate import upgrade_all
from tenantry.db.sessions import tenant_session
from tests.utils.pgbouncer import PgBouncer
from tests.utils.postgres import create_database, drop_database
from tests.utils.settings import make_settings
from tests.utils.template import MARKED_TEMPLATE

T = TypeVar("T")


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
    engine = create_engine(settings.direct())
    try:
        await upgrade_all(engine)
        async with tenant_session(engine, "public") as session:
            await template.load(session, MARKED_TEMPLATE)
    finally:
        await engine.dispose()


def serve_app(
    postgres_server: str,
    data_dir: Path,
    *,
    pooler: PgBouncer | None = None,
    **overrides: object,
) -> Iterator[Served]:
    """A fresh database (template filled) and the app on it, for one test module; through
    `pooler` when given."""
    values: dict[str, object] = {
        "rate_limit": "none",
        "access_token_ttl": timedelta(hours=2),
        "warm_pool_size": 2,
        "log_level": "warning",
    }
    with start_blocking_portal() as portal:
        url = portal.call(create_database, postgres_server)
        through = url
        if pooler is not None:
            through = pooler.url(url)
            values["direct_database_url"] = url
        settings = make_settings(through, data_dir, **(values | overrides))
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
