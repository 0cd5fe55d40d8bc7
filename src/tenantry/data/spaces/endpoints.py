"""Spaces, as the spaces API documents them."""

import asyncio
import uuid
from typing import Annotated

from fastapi import Header, Request, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from tenantry.config import Settings
from tenantry.data.access import DataReader, DataWriter, ReadSchema, WriteSchema
from tenantry.data.pagination import Cursor, Limit, Signer
from tenantry.data.spaces import images, service
from tenantry.data.spaces.images import FORMATS, InvalidImage
from tenantry.data.spaces.schemas import SpaceCreate, SpacePage, SpaceRead, SpaceUpdate
from tenantry.idempotency import IdempotencyClaim
from tenantry.kernel.versions import V1
from tenantry.routing import Router, body_limit, hot

router = Router(prefix=f"{V1}/spaces", tags=["spaces"])
DEFAULT_LIMIT = 20
CACHE_CONTROL = "private, max-age=0, must-revalidate"


@router.get("", response_model=SpacePage)
@hot
async def list_spaces(
    schema: ReadSchema,
    signer: Signer,
    request: Request,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """List spaces, oldest first, a page at a time."""
    lanes = request.app.state.lanes
    body = await service.page_json(lanes, signer, schema, cursor=cursor, limit=limit)
    return Response(body, media_type="application/json")


@router.post("", status_code=201, response_model=SpaceRead)
@hot
async def create_space(
    body: SpaceCreate, schema: WriteSchema, claim: IdempotencyClaim, request: Request
) -> Response:
    """Create a space; an Idempotency-Key, when sent, makes retries safe."""
    return await service.create(request.app.state.lanes, schema, body.model_dump(), claim)


@router.get("/{space_id}", response_model=SpaceRead)
@hot
async def get_space(space_id: uuid.UUID, schema: ReadSchema, request: Request) -> Response:
    """One space."""
    body = await service.get_json(request.app.state.lanes, schema, space_id)
    return Response(body, media_type="application/json")


@router.patch("/{space_id}", response_model=SpaceRead)
@hot
async def update_space(
    space_id: uuid.UUID, body: SpaceUpdate, schema: WriteSchema, request: Request
) -> Response:
    """Change the fields sent; the others stay."""
    changes = body.model_dump(exclude_unset=True)
    answer = await service.update(request.app.state.lanes, schema, space_id, changes)
    return Response(answer, media_type="application/json")


@router.delete("/{space_id}", status_code=204, response_class=Response)
@hot
async def delete_space(space_id: uuid.UUID, schema: WriteSchema, request: Request) -> Response:
    """Delete a space and its background image."""
    await service.delete(request.app.state.lanes, schema, space_id)
    return Response(status_code=204)


@router.get(
    "/{space_id}/background",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}, "description": "The image."}},
)
async def get_space_background(
    space_id: uuid.UUID,
    session: DataReader,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """The space's background image, with its type and an ETag."""
    image = await service.background(session, space_id)
    etag = f'"{image.sha256}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(image.data, media_type=image.content_type, headers=headers)


IMAGE_BODY = {"schema": {"type": "string", "format": "binary"}}
UPLOAD = {
    "required": True,
    "content": {
        **{content_type: IMAGE_BODY for content_type in FORMATS.values()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": IMAGE_BODY["schema"]},
                "required": ["file"],
            }
        },
    },
}


async def _image_bytes(request: Request) -> bytes:
    """The raw body, or the one file of a multipart body."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return await request.body()
    try:
        form = await request.form(max_files=1, max_fields=10)
    except HTTPException as error:
        if error.status_code == 413:
            raise
        raise InvalidImage("The multipart body could not be read.") from error
    uploads = [value for value in form.values() if isinstance(value, UploadFile)]
    if not uploads:
        raise InvalidImage("The multipart body holds no file.")
    return await uploads[0].read()


@router.put(
    "/{space_id}/background",
    response_model=SpaceRead,
    openapi_extra={"requestBody": UPLOAD},
    responses={
        413: {"description": "Too many bytes or pixels."},
        415: {"description": "Not an image."},
    },
)
@body_limit("max_image_bytes")
async def put_space_background(
    space_id: uuid.UUID, request: Request, session: DataWriter
) -> BaseModel:
    """Set the space's background: PNG, JPEG, WebP or GIF, raw or as multipart `file`."""
    settings: Settings = request.app.state.settings
    image = await asyncio.to_thread(
        images.check, await _image_bytes(request), settings.max_image_pixels
    )
    return await service.set_background(session, space_id, image)


@router.delete("/{space_id}/background", status_code=204)
async def delete_space_background(space_id: uuid.UUID, session: DataWriter) -> None:
    """Remove the space's background image."""
    await service.delete_background(session, space_id)
