"""The ASGI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tenantry import __version__, health
from tenantry.config import Settings, get_settings
from tenantry.db.engine import create_engine
from tenantry.errors import add_error_handlers
from tenantry.logs import configure_logging
from tenantry.middleware import RequestContextMiddleware


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.engine = create_engine(app.state.settings)
    try:
        yield
    finally:
        await app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    app = FastAPI(
        title="Tenantry",
        version=__version__,
        summary="A multi-tenant API server: one PostgreSQL schema per client.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    add_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    return app
