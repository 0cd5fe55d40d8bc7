"""Spaces of the caller's database. Services never commit."""

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response
from typing_extensions import TypedDict

from tenantry.data.pagination import Cursors, Meta, page_of
from tenantry.data.spaces import repository
from tenantry.data.spaces.images import CheckedImage
from tenantry.data.spaces.schemas import SpaceRead, SpaceRow
from tenantry.db.engine import Lanes
from tenantry.db.sessions import TenantSession
from tenantry.errors import NotFound
from tenantry.idempotency import Claim, made_once
from tenantry.models.data import SpaceBackground

SCOPE = "spaces"


class SpaceNotFound(NotFound):
    code = "SPACE_NOT_FOUND"
    default_detail = "No space of this database has this id."


class BackgroundNotFound(NotFound):
    code = "BACKGROUND_NOT_FOUND"
    default_detail = "This space has no background image."


async def page_json(
    lanes: Lanes, cursors: Cursors, schema: str, *, cursor: str | None, limit: int
) -> bytes:
    """A page of spaces, serialized: a hot read, without a session."""
    key = cursors.decode(SCOPE, cursor, uuid.UUID)
    rows = await repository.rows_after(lanes, schema, key, limit + 1)
    shown, meta = page_of(rows, limit, SCOPE, cursors, lambda r: (r["created_at"], r["space_id"]))
    return PAGE.dump_json({"data": [_fields(row) for row in shown], "meta": meta})


async def get_json(lanes: Lanes, schema: str, space_id: uuid.UUID) -> bytes:
    """One space, serialized: the hot read, without a session."""
    row = await repository.one(lanes, schema, space_id)
    if row is None:
        raise SpaceNotFound
    return _json(row)


FIELDS = tuple(SpaceRead.model_fields)
ONE = TypeAdapter(SpaceRow)
PAGE = TypeAdapter(TypedDict("SpacePageRows", {"data": list[SpaceRow], "meta": Meta}))  # type: ignore[operator]  # a TypedDict of a made one


def _fields(row: Any) -> dict[str, Any]:
    """A space read by `repository.COLUMNS`, in `SpaceRead`'s order of fields, for
    `SpaceRow`'s serializer."""
    return {field: row[field] for field in FIELDS}


def _json(row: Any) -> bytes:
    """A space read by `repository.COLUMNS`, serialized."""
    return ONE.dump_json(_fields(row))


async def create(
    lanes: Lanes, schema: str, values: dict[str, Any], claim: Claim | None
) -> Response:
    """Create a space, once per Idempotency-Key: the lean write, one statement."""
    return await made_once(lanes, schema, claim, 201, repository.SPACES, values, _created)


def _created(row: Mapping[str, Any]) -> bytes:
    """A new space (it has no background), serialized; from the driver's row or from the
    JSON an Idempotency-Key's record holds."""
    return SpaceRead.model_validate({**row, "has_background": False}).model_dump_json().encode()


async def update(lanes: Lanes, schema: str, space_id: uuid.UUID, changes: dict[str, Any]) -> bytes:
    """Change the fields in `changes` (one statement); the space after."""
    if changes:
        row = await repository.change_row(lanes, schema, space_id, changes)
    else:
        row = await repository.one(lanes, schema, space_id)
    if row is None:
        raise SpaceNotFound
    return _json(row)


async def add(session: TenantSession, values: dict[str, Any]) -> uuid.UUID:
    """Create a space in a session's transaction (the admin's, with its background); its id."""
    space_id: uuid.UUID = (await repository.add(session, values))["space_id"]
    return space_id


async def change(session: TenantSession, space_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """Change a space in a session's transaction (the admin's, with its background)."""
    if changes:
        row = await repository.change(session, space_id, changes)
    else:
        row = await repository.get(session, space_id)
    if row is None:
        raise SpaceNotFound


async def delete(lanes: Lanes, schema: str, space_id: uuid.UUID) -> None:
    if not await repository.remove_row(lanes, schema, space_id):
        raise SpaceNotFound


async def set_background(
    session: TenantSession, space_id: uuid.UUID, image: CheckedImage
) -> BaseModel:
    """The space after, as `SpaceRead`: its `updated_at` is now."""
    row = await repository.touch(session, space_id)
    if row is None:
        raise SpaceNotFound
    stored = await repository.background(session, space_id)
    if stored is None:
        stored = SpaceBackground(space_id=space_id)
        session.add(stored)
    stored.content_type, stored.sha256, stored.data = image.content_type, image.sha256, image.data
    await session.flush()
    return SpaceRead.model_validate(row | {"has_background": True})


async def delete_background(session: TenantSession, space_id: uuid.UUID) -> None:
    """Remove the space's background; its `updated_at` is now."""
    await session.delete(await background(session, space_id))
    await repository.touch(session, space_id)
    await session.flush()


async def background(session: TenantSession, space_id: uuid.UUID) -> SpaceBackground:
    if await repository.get(session, space_id) is None:
        raise SpaceNotFound
    image = await repository.background(session, space_id)
    if image is None:
        raise BackgroundNotFound
    return image
