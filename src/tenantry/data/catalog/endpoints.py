"""Items and users, as the Crossing Minds API has them: `PUT|GET|DELETE
/v1/{items|users}/{id}/`, `PUT|GET /v1/{items|users}-bulk/`."""

from typing import Annotated

from fastapi import Path, Query

from tenantry.data.access import DataReader, DataWriter
from tenantry.data.catalog import service
from tenantry.data.catalog.ids import Ids
from tenantry.data.catalog.schemas import (
    ItemRead,
    ItemsBulkWrite,
    ItemsPage,
    ItemWrite,
    UserRead,
    UsersBulkWrite,
    UsersPage,
    UserWrite,
)
from tenantry.data.catalog.service import ITEMS, USERS
from tenantry.data.pagination import MAX_CURSOR_LENGTH, Signer
from tenantry.kernel.versions import V1
from tenantry.routing import Router, body_limit

router = Router(prefix=V1, tags=["items and users"])
MAX_AMOUNT = 5000

ItemId = Annotated[str, Path(max_length=200, description="An id of the item_id_type.")]
UserId = Annotated[str, Path(max_length=200, description="An id of the user_id_type.")]
Amount = Annotated[int, Query(ge=1, le=MAX_AMOUNT, description="Rows per page.")]
NextCursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."),
]


@router.put("/items/{item_id}/", status_code=204)
async def put_item(item_id: ItemId, body: ItemWrite, session: DataWriter, ids: Ids) -> None:
    """Create an item, or replace its properties."""
    await service.put(session, ITEMS, ids.item, item_id, body.item)


@router.get("/items/{item_id}/")
async def get_item(item_id: ItemId, session: DataReader, ids: Ids) -> ItemRead:
    """One item: its id and properties."""
    return ItemRead(item=await service.get(session, ITEMS, ids.item, item_id))


@router.delete("/items/{item_id}/", status_code=204)
async def delete_item(item_id: ItemId, session: DataWriter, ids: Ids) -> None:
    """Delete an item and its ratings."""
    await service.delete(session, ITEMS, ids.item, item_id)


@router.put("/items-bulk/", status_code=204)
@body_limit("max_bulk_body_bytes")
async def put_items(body: ItemsBulkWrite, session: DataWriter, ids: Ids) -> None:
    """Create or replace up to 10,000 items at once."""
    await service.put_bulk(session, ITEMS, ids.item, body.items, body.items_m2m)


@router.get("/items-bulk/")
async def list_items(
    session: DataReader, ids: Ids, signer: Signer, amt: Amount = 300, cursor: NextCursor = None
) -> ItemsPage:
    """Items in the order of their ids, a page at a time."""
    rows, next_cursor = await service.page(
        session, ITEMS, ids.item, signer, cursor=cursor, amount=amt
    )
    return ItemsPage(items=rows, has_next=next_cursor is not None, next_cursor=next_cursor)


@router.put("/users/{user_id}/", status_code=204)
async def put_user(user_id: UserId, body: UserWrite, session: DataWriter, ids: Ids) -> None:
    """Create a user, or replace its properties."""
    await service.put(session, USERS, ids.user, user_id, body.user)


@router.get("/users/{user_id}/")
async def get_user(user_id: UserId, session: DataReader, ids: Ids) -> UserRead:
    """One user: its id and properties."""
    return UserRead(user=await service.get(session, USERS, ids.user, user_id))


@router.delete("/users/{user_id}/", status_code=204)
async def delete_user(user_id: UserId, session: DataWriter, ids: Ids) -> None:
    """Delete a user and its ratings."""
    await service.delete(session, USERS, ids.user, user_id)


@router.put("/users-bulk/", status_code=204)
@body_limit("max_bulk_body_bytes")
async def put_users(body: UsersBulkWrite, session: DataWriter, ids: Ids) -> None:
    """Create or replace up to 10,000 users at once."""
    await service.put_bulk(session, USERS, ids.user, body.users, body.users_m2m)


@router.get("/users-bulk/")
async def list_users(
    session: DataReader, ids: Ids, signer: Signer, amt: Amount = 300, cursor: NextCursor = None
) -> UsersPage:
    """Users in the order of their ids, a page at a time."""
    rows, next_cursor = await service.page(
        session, USERS, ids.user, signer, cursor=cursor, amount=amt
    )
    return UsersPage(users=rows, has_next=next_cursor is not None, next_cursor=next_cursor)
