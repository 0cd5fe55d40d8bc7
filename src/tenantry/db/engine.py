"""The async engine on asyncpg."""

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tenantry.config import Settings

# Nothing is reachable by an unqualified name: a statement not bound to a schema fails
# instead of falling through to the template in `public`.
SEARCH_PATH = "pg_catalog"


def create_engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    assert settings.database_url is not None, "start the embedded PostgreSQL first"
    server_settings = {
        "search_path": SEARCH_PATH,
        "application_name": "tenantry",
        "statement_timeout": str(settings.statement_timeout_ms),
    }
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_timeout=settings.pool_timeout,
        pool_recycle=900,
        connect_args={"server_settings": server_settings},
    )
