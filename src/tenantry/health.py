"""Liveness and readiness."""

import asyncio
from typing import Literal

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.migrate import pending_migrations
from tenantry.errors import ServiceUnavailable
from tenantry.routing import Router

READINESS_TIMEOUT = 5.0
RETRY_AFTER = {"Retry-After": "5"}

router = Router(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    database: Literal["reachable"] = "reachable"
    migrations: Literal["at head"] = "at head"


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up."""
    return Health()


@router.get("/readyz", responses={503: {"description": "Not ready"}})
async def readyz(request: Request) -> Readiness:
    """The database answers and every server schema is at its migration head."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with asyncio.timeout(READINESS_TIMEOUT), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            behind = await pending_migrations(connection)
    except Exception as error:
        raise ServiceUnavailable("The database is not reachable.", headers=RETRY_AFTER) from error
    if behind:
        raise ServiceUnavailable(
            f"Migrations are not applied to: {', '.join(behind)}. Run `tenantry migrate`.",
            headers=RETRY_AFTER,
        )
    return Readiness()
