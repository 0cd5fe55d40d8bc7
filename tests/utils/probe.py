"""Routes used only by the tests, to drive the server's shared machinery (validation,
body limits, content types, the session's commit, crashes) through real HTTP requests."""

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import text

from tenantry.auth.connection import ControlDB
from tenantry.errors import Conflict
from tenantry.routing import Router

probe_router = Router(prefix="/_probe")


class Widget(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    count: int = Field(ge=0)
    note: str | None = None


@probe_router.post("/widgets", status_code=201)
async def create_widget(widget: Widget) -> Widget:
    return widget


@probe_router.get("/widgets")
async def list_widgets(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, int]:
    return {"limit": limit}


@probe_router.get("/crash")
async def crash() -> None:
    raise RuntimeError("internal detail: password=hunter2 at /srv/secret/path")


@probe_router.post("/notes/{note}", status_code=201)
async def write_note(note: str, session: ControlDB, fail: bool = False) -> dict[str, str]:
    """Write to a table in the request's transaction; `fail` raises after the write."""
    await session.execute(text("INSERT INTO probe.notes (note) VALUES (:note)"), {"note": note})
    if fail:
        raise Conflict("failed after writing")
    return {"note": note}
