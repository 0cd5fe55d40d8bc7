"""The sessions SQLAdmin's views use, each bound to one schema by `bind_schema`.

SQLAdmin opens a session per query from a view's session maker. Ours opens it on a
connection of the schema's lane, bound to the schema of the logged-in database (or, for
the operators' views, to the template); with no admin session current it refuses, so no
query can run against a schema nobody logged in to.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tenantry.admin.sessions import AdminIdentity, current_admin
from tenantry.audit import watch
from tenantry.db.base import TEMPLATE_SCHEMA
from tenantry.db.engine import Lanes
from tenantry.db.sessions import bind_schema


class NotLoggedIn(PermissionError):
    """A view's query with no admin session current."""


class BoundSessions:
    """A session maker, as SQLAdmin calls one: `async with maker(**options) as session`."""

    class_ = AsyncSession  # how SQLAdmin tells an async session maker

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.options: dict[str, Any] = {}

    def configure(self, **options: Any) -> None:
        options.pop("autocommit", None)  # SQLAdmin's; SQLAlchemy 2 sessions have none
        self.options.update(options)

    def schema(self, admin: AdminIdentity) -> str:
        return admin.database.schema_name

    def engine(self, schema: str) -> AsyncEngine:
        lanes: Lanes = self.app.state.lanes
        return lanes.of(schema)

    @asynccontextmanager
    async def __call__(self, **options: Any) -> AsyncIterator[AsyncSession]:
        admin = current_admin()
        if admin is None:
            raise NotLoggedIn("no admin session is current")
        schema = self.schema(admin)
        async with self.engine(schema).connect() as connection:
            bound = await bind_schema(connection, schema)
            session = AsyncSession(bind=bound, **(self.options | options))
            try:
                yield session
            finally:
                await session.close()


class TemplateSessions(BoundSessions):
    """The template's sessions: for operators only."""

    def schema(self, admin: AdminIdentity) -> str:
        if not admin.is_operator:
            raise NotLoggedIn("only operators reach the template")
        return TEMPLATE_SCHEMA


class ControlSessions(BoundSessions):
    """Sessions of the control plane (schema `tenantry`), for the organization's views."""

    @asynccontextmanager
    async def __call__(self, **options: Any) -> AsyncIterator[AsyncSession]:
        admin = current_admin()
        if admin is None:
            raise NotLoggedIn("no admin session is current")
        engine: AsyncEngine = self.app.state.engine
        async with engine.connect() as connection:
            session = AsyncSession(bind=connection, **(self.options | options))
            if self.app.state.settings.audit:
                watch(session, admin.actor)
            try:
                yield session
            finally:
                await session.close()
