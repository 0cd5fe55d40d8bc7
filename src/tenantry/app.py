"""The ASGI application."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial

from fastapi import FastAPI
from starlette.types import ASGIApp
from threadpoolctl import threadpool_limits

from tenantry import __version__, health, scrape
from tenantry.admin import UPLOAD_PATH as ADMIN_UPLOAD_PATH
from tenantry.admin import add_admin
from tenantry.auth import tokens
from tenantry.auth.cache import AuthCache, LastUsed, Listener
from tenantry.auth.context import document_rate_limit
from tenantry.auth.rate_limits import rate_limiter, registration_limiter, settings_counters
from tenantry.auth.tokens import TokenService
from tenantry.config import Settings, get_settings
from tenantry.control.accounts import endpoints as accounts_endpoints
from tenantry.control.api_keys import endpoints as api_keys_endpoints
from tenantry.control.audit import endpoints as audit_endpoints
from tenantry.control.auth import endpoints as auth_endpoints
from tenantry.control.databases import endpoints as databases_endpoints
from tenantry.control.mail.sender import load_sender
from tenantry.control.organizations import endpoints as organizations_endpoints
from tenantry.control.provisioning.worker import JobHandler, Worker
from tenantry.data.catalog import endpoints as catalog_endpoints
from tenantry.data.documents import endpoints as documents_endpoints
from tenantry.data.interactions import endpoints as interactions_endpoints
from tenantry.data.interactions import logins as frontend_logins
from tenantry.data.pagination import Cursors
from tenantry.data.ratings import endpoints as ratings_endpoints
from tenantry.data.recommendations import endpoints as recommendations_endpoints
from tenantry.data.recommendations import training
from tenantry.data.recommendations.cache import ModelCache
from tenantry.data.recommendations.scenarios import endpoints as scenarios_endpoints
from tenantry.data.search import endpoints as search_endpoints
from tenantry.data.spaces import endpoints as spaces_endpoints
from tenantry.data.tenant_models import endpoints as tenant_models_endpoints
from tenantry.db.engine import Lanes, create_engine
from tenantry.docs import add_docs, document_problems
from tenantry.errors import add_error_handlers
from tenantry.fair import FairGate
from tenantry.hot import HotReads
from tenantry.idempotency import add_replay_handler
from tenantry.logs import configure_logging
from tenantry.metrics import Metrics
from tenantry.middleware import RequestContextMiddleware
from tenantry.models.control import JobKind
from tenantry.routing import body_limits
from tenantry.traffic import Traffic


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.engine = engine = create_engine(settings)
    app.state.lanes = lanes = Lanes(settings)
    app.state.frontend_login = partial(frontend_logins.at_login, lanes)
    app.state.last_used = last_used = LastUsed(engine, settings.last_used_interval)
    direct = settings.direct()  # LISTEN and the worker's job locks outlive a transaction
    assert direct.database_url is not None
    app.state.auth_listener = listener = Listener(
        app.state.auth_cache, direct.database_url.replace("+asyncpg", "")
    )
    tasks = [
        asyncio.create_task(listener.run(), name="auth-notices"),
        asyncio.create_task(last_used.run(), name="last-used"),
    ]
    if app.state.traffic is not None:
        tasks.append(asyncio.create_task(app.state.traffic.run(engine), name="traffic"))
    if app.state.metrics is not None:
        sampling = scrape.sample_pools_every(app.state.metrics, engine, lanes)
        tasks.append(asyncio.create_task(sampling, name="metrics-pools"))
    app.state.worker = app.state.worker_task = None
    worker_engine = create_engine(direct) if settings.pooled else engine
    if settings.worker:
        app.state.worker = Worker(
            worker_engine,
            pool_size=settings.warm_pool_size,
            concurrency=settings.worker_concurrency,
            idempotency_retention=settings.idempotency_retention,
            audit_retention=settings.audit_retention,
            handlers={JobKind.TRAIN: _training(settings)},
            metrics=app.state.metrics,
        )
        app.state.worker_task = asyncio.create_task(app.state.worker.run(), name="worker")
    # A recommendation's products are small: a pool of BLAS threads per product would fight
    # the event loop and the other requests for the cores (training runs its own threads).
    threadpool_limits(1, "blas")
    gc.freeze()  # what startup made lives as long as the process: keep it out of collections
    try:
        yield
    finally:
        for task in [*tasks, app.state.worker_task]:
            if task is None:
                continue
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        with suppress(Exception):
            await last_used.flush()
        if app.state.traffic is not None:
            with suppress(Exception):
                await app.state.traffic.flush(engine)
        await lanes.dispose()
        await worker_engine.dispose()
        await engine.dispose()


def _training(settings: Settings) -> JobHandler:
    run = partial(training.run, precomputed_users=settings.reco_precomputed_users)
    return JobHandler(run=run, give_up=training.give_up)


class Tenantry(FastAPI):
    """The application, with two layers around the framework's own: the request's
    context (its id, size limit, log line and last line of defence), then the hot reads,
    which answer the commonest reads before the framework's layers are entered."""

    def build_middleware_stack(self) -> ASGIApp:
        """Both layers are built from the routes: what each route declares (`@hot`,
        `@body_limit`) where it is declared."""
        settings: Settings = self.state.settings
        self.state.hot_reads = HotReads(super().build_middleware_stack(), routes=self.routes)
        return RequestContextMiddleware(
            self.state.hot_reads,
            max_body_bytes=settings.max_body_bytes,
            body_timeout=settings.body_timeout,
            trusted_hosts=settings.trusted_hosts,
            metrics=self.state.metrics,
            traffic=self.state.traffic,
            larger_bodies=[
                *body_limits(self.routes, settings),
                (ADMIN_UPLOAD_PATH, settings.max_image_bytes + 64 * 1024),  # the form's fields
            ],
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    app = Tenantry(
        title="Tenantry",
        version=__version__,
        summary="A multi-tenant API server: one PostgreSQL schema per client.",
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,  # served by `tenantry.docs`, with their assets
        redoc_url=None,
        telemetry={
            "tracing": settings.telemetry,
            "metrics": settings.telemetry,
            "logs": settings.telemetry,
        },
    )
    app.state.settings = settings
    app.state.metrics = Metrics(databases=settings.metrics_databases) if settings.metrics else None
    app.state.traffic = Traffic(settings.last_used_interval) if settings.metrics else None
    app.state.tokens = TokenService(
        settings.secret,
        [old.get_secret_value() for old in settings.previous_secret_keys],
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
    )
    app.state.cursors = Cursors(settings.secret)
    app.state.reco_cache = ModelCache(settings.reco_cache_mb * 2**20)
    app.state.mail_sender = load_sender(settings)
    app.state.auth_turns = FairGate(settings.pool_size)
    app.state.auth_cache = AuthCache(
        settings.auth_cache_ttl,
        token_lifetime=(settings.access_token_ttl + tokens.LEEWAY).total_seconds(),
    )
    counters = settings_counters(settings)  # one store for both limits
    app.state.rate_limiter = rate_limiter(settings, counters)
    app.state.registration_limiter = registration_limiter(settings, counters)
    add_error_handlers(app)
    add_replay_handler(app)
    add_docs(app)
    for router in (  # routes are matched in this order: the data plane's first
        spaces_endpoints.router,
        tenant_models_endpoints.router,
        search_endpoints.router,  # before documents: /documents/metadata-schema is no id
        documents_endpoints.router,
        catalog_endpoints.router,
        ratings_endpoints.router,
        interactions_endpoints.router,
        recommendations_endpoints.router,
        scenarios_endpoints.router,
        health.router,
        scrape.router,
        auth_endpoints.router,
        accounts_endpoints.router,
        organizations_endpoints.router,
        api_keys_endpoints.router,
        databases_endpoints.router,
        audit_endpoints.router,
    ):
        app.include_router(router)
        document_rate_limit(router.routes)
        document_problems(router.routes)
    add_admin(app)
    return app
