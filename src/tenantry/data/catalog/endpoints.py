"""Items and users, as the Crossing Minds API has them, at the paths of both of its Python
clients: `/v1/{items|users}/{id}/properties/` and `/v1/{items|users}-bulk/properties/`
(xminds 0.7), `/v1/{items|users}/{id}/` and `/v1/{items|users}-bulk/` (0.6); and their
declared properties, `/v1/{items|users}-properties/`."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from tenantry.data.access import DataReader, DataWriter
from tenantry.data.catalog import declarations, service
from tenantry.data.catalog.ids import Ids, invalid
from tenantry.data.catalog.schemas import (
    PROPERTY_NAME,
    ItemPatch,
    ItemPatched,
    ItemRead,
    ItemsBulkPatch,
    ItemsBulkWrite,
    ItemsIds,
    ItemsListed,
    ItemsListQuery,
    ItemsPage,
    ItemWrite,
    PropertiesRead,
    PropertyCreate,
    PropertyRead,
    UserPatch,
    UserPatched,
    UserRead,
    UsersBulkPatch,
    UsersBulkWrite,
    UsersIds,
    UsersListed,
    UsersListQuery,
    UsersPage,
    UserWrite,
)
from tenantry.data.catalog.service import ITEMS, USERS
from tenantry.data.frontend import UserId
from tenantry.data.pagination import MAX_CURSOR_LENGTH, Signer
from tenantry.kernel.versions import V1
from tenantry.routing import Router, body_limit

router = Router(prefix=V1, tags=["items and users"])
MAX_AMOUNT = 5000
LIST_PARAMETERS = {"amt", "cursor", "properties"}

ItemId = Annotated[str, Path(max_length=200, description="An id of the item_id_type.")]
PropertyName = Annotated[str, Path(pattern=PROPERTY_NAME, description="A property's name.")]
Amount = Annotated[int, Query(ge=1, le=MAX_AMOUNT, description="Rows per page.")]
NextCursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."),
]
Shown = Annotated[
    list[str] | None,
    Query(max_length=1000, description="Only these properties (default: all)."),
]


async def _known_parameters(request: Request) -> None:
    """The lists take `amt`, `cursor` and `properties`; anything else is 400, `filters`
    included (this server does not filter rows by property)."""
    unknown = sorted(set(request.query_params) - LIST_PARAMETERS)
    if unknown:
        errors = {name: ["Not a parameter of this list."] for name in unknown}
        if "filters" in errors:
            errors["filters"] = ["Property filters are not supported; list without them."]
        raise invalid(errors)


KnownParameters = Depends(_known_parameters)


# --- items ---------------------------------------------------------------------------------


@router.put("/items/{item_id}/properties/", status_code=204)
@router.put("/items/{item_id}/", status_code=204)
async def put_item(item_id: ItemId, body: ItemWrite, session: DataWriter, ids: Ids) -> None:
    """Create an item, or replace its properties."""
    await service.put(session, ITEMS, ids.item, item_id, body.item)


@router.patch("/items/{item_id}/properties/")
@router.patch("/items/{item_id}/")
async def patch_item(
    item_id: ItemId, body: ItemPatch, session: DataWriter, ids: Ids
) -> ItemPatched:
    """Change some properties of an item (create it with `create_if_missing`)."""
    created = await service.patch(
        session, ITEMS, ids.item, item_id, body.item, create=body.create_if_missing
    )
    return ItemPatched(item_created=created, item_modified=not created)


@router.get("/items/{item_id}/properties/")
@router.get("/items/{item_id}/")
async def get_item(item_id: ItemId, session: DataReader, ids: Ids) -> ItemRead:
    """One item: its id and properties."""
    return ItemRead(item=await service.get(session, ITEMS, ids.item, item_id))


@router.delete("/items/{item_id}/properties/", status_code=204)
@router.delete("/items/{item_id}/", status_code=204)
async def delete_item(item_id: ItemId, session: DataWriter, ids: Ids) -> None:
    """Delete an item's properties; its ratings are kept."""
    await service.delete(session, ITEMS, ids.item, item_id)


@router.put("/items-bulk/properties/", status_code=204)
@router.put("/items-bulk/", status_code=204)
@body_limit("max_bulk_body_bytes")
async def put_items(body: ItemsBulkWrite, session: DataWriter, ids: Ids) -> None:
    """Create or replace up to 10,000 items at once."""
    await service.put_bulk(session, ITEMS, ids.item, body.items, body.items_m2m)


@router.patch("/items-bulk/properties/", status_code=204)
@router.patch("/items-bulk/", status_code=204)
@body_limit("max_bulk_body_bytes")
async def patch_items(body: ItemsBulkPatch, session: DataWriter, ids: Ids) -> None:
    """Change some properties of up to 10,000 items at once."""
    await service.patch_bulk(
        session, ITEMS, ids.item, body.items, body.items_m2m, create=body.create_if_missing
    )


@router.delete("/items-bulk/properties/", status_code=204)
@router.delete("/items-bulk/", status_code=204)
@body_limit("max_bulk_body_bytes")
async def delete_items(body: ItemsIds, session: DataWriter, ids: Ids) -> None:
    """Delete the properties of up to 10,000 items; their ratings are kept."""
    await service.delete_bulk(session, ITEMS, ids.item, body.items_id)


@router.get("/items-bulk/properties/", dependencies=[KnownParameters])
@router.get("/items-bulk/", dependencies=[KnownParameters])
async def list_items(
    session: DataReader,
    ids: Ids,
    signer: Signer,
    amt: Amount = 300,
    cursor: NextCursor = None,
    properties: Shown = None,
) -> ItemsPage:
    """Items in the order of their ids, a page at a time."""
    rows, next_cursor = await service.page(
        session, ITEMS, ids.item, signer, cursor=cursor, amount=amt, names=properties
    )
    return ItemsPage(
        items=rows, items_m2m=[], has_next=next_cursor is not None, next_cursor=next_cursor
    )


@router.post("/items-bulk/properties/list/")
@router.post("/items-bulk/list/")
@body_limit("max_bulk_body_bytes")
async def list_items_by_ids(body: ItemsListQuery, session: DataReader, ids: Ids) -> ItemsListed:
    """The items of these ids that exist (others are left out)."""
    rows = await service.list_by_ids(session, ITEMS, ids.item, body.items_id, body.properties)
    return ItemsListed(items=rows, items_m2m=[])


# --- users ---------------------------------------------------------------------------------


@router.put("/users/{user_id}/properties/", status_code=204)
@router.put("/users/{user_id}/", status_code=204)
async def put_user(user_id: UserId, body: UserWrite, session: DataWriter, ids: Ids) -> None:
    """Create a user, or replace its properties."""
    await service.put(session, USERS, ids.user, user_id, body.user)


@router.patch("/users/{user_id}/properties/")
@router.patch("/users/{user_id}/")
async def patch_user(
    user_id: UserId, body: UserPatch, session: DataWriter, ids: Ids
) -> UserPatched:
    """Change some properties of a user (create it with `create_if_missing`)."""
    created = await service.patch(
        session, USERS, ids.user, user_id, body.user, create=body.create_if_missing
    )
    return UserPatched(user_created=created, user_modified=not created)


@router.get("/users/{user_id}/properties/")
@router.get("/users/{user_id}/")
async def get_user(user_id: UserId, session: DataReader, ids: Ids) -> UserRead:
    """One user: its id and properties."""
    return UserRead(user=await service.get(session, USERS, ids.user, user_id))


@router.delete("/users/{user_id}/properties/", status_code=204)
@router.delete("/users/{user_id}/", status_code=204)
async def delete_user(user_id: UserId, session: DataWriter, ids: Ids) -> None:
    """Delete a user's properties; its ratings are kept."""
    await service.delete(session, USERS, ids.user, user_id)


@router.delete("/users/{user_id}/*", status_code=204)
async def delete_user_entirely(user_id: UserId, session: DataWriter, ids: Ids) -> None:
    """Delete everything of a user: properties, ratings, interactions, resolved sessions."""
    await service.delete_user_entirely(session, ids.user, user_id)


@router.put("/users-bulk/properties/", status_code=204)
@router.put("/users-bulk/", status_code=204)
@body_limit("max_bulk_body_bytes")
async def put_users(body: UsersBulkWrite, session: DataWriter, ids: Ids) -> None:
    """Create or replace up to 10,000 users at once."""
    await service.put_bulk(session, USERS, ids.user, body.users, body.users_m2m)


@router.patch("/users-bulk/properties/", status_code=204)
@router.patch("/users-bulk/", status_code=204)
@body_limit("max_bulk_body_bytes")
async def patch_users(body: UsersBulkPatch, session: DataWriter, ids: Ids) -> None:
    """Change some properties of up to 10,000 users at once."""
    await service.patch_bulk(
        session, USERS, ids.user, body.users, body.users_m2m, create=body.create_if_missing
    )


@router.delete("/users-bulk/properties/", status_code=204)
@router.delete("/users-bulk/", status_code=204)
@body_limit("max_bulk_body_bytes")
async def delete_users(body: UsersIds, session: DataWriter, ids: Ids) -> None:
    """Delete the properties of up to 10,000 users; their ratings are kept."""
    await service.delete_bulk(session, USERS, ids.user, body.users_id)


@router.get("/users-bulk/properties/", dependencies=[KnownParameters])
@router.get("/users-bulk/", dependencies=[KnownParameters])
async def list_users(
    session: DataReader,
    ids: Ids,
    signer: Signer,
    amt: Amount = 300,
    cursor: NextCursor = None,
    properties: Shown = None,
) -> UsersPage:
    """Users in the order of their ids, a page at a time."""
    rows, next_cursor = await service.page(
        session, USERS, ids.user, signer, cursor=cursor, amount=amt, names=properties
    )
    return UsersPage(
        users=rows, users_m2m=[], has_next=next_cursor is not None, next_cursor=next_cursor
    )


@router.post("/users-bulk/properties/list/")
@router.post("/users-bulk/list/")
@body_limit("max_bulk_body_bytes")
async def list_users_by_ids(body: UsersListQuery, session: DataReader, ids: Ids) -> UsersListed:
    """The users of these ids that exist (others are left out)."""
    rows = await service.list_by_ids(session, USERS, ids.user, body.users_id, body.properties)
    return UsersListed(users=rows, users_m2m=[])


# --- declared properties -------------------------------------------------------------------


@router.post("/items-properties/", status_code=201)
async def create_item_property(
    body: PropertyCreate, session: DataWriter, _ids: Ids
) -> PropertyRead:
    """Declare an item property: its name, value type and whether it is repeated."""
    return await declarations.create(session, ITEMS, body)


@router.get("/items-properties/")
async def list_item_properties(session: DataReader, _ids: Ids) -> PropertiesRead:
    """Every declared item property, by name."""
    return PropertiesRead(properties=await declarations.list_all(session, ITEMS))


@router.get("/items-properties/{property_name}/")
async def get_item_property(
    property_name: PropertyName, session: DataReader, _ids: Ids
) -> PropertyRead:
    """One declared item property."""
    return await declarations.get(session, ITEMS, property_name)


@router.delete("/items-properties/{property_name}/", status_code=204)
async def delete_item_property(property_name: PropertyName, session: DataWriter, _ids: Ids) -> None:
    """Forget an item property and remove its values from every item."""
    await declarations.delete(session, ITEMS, property_name)


@router.post("/users-properties/", status_code=201)
async def create_user_property(
    body: PropertyCreate, session: DataWriter, _ids: Ids
) -> PropertyRead:
    """Declare a user property: its name, value type and whether it is repeated."""
    return await declarations.create(session, USERS, body)


@router.get("/users-properties/")
async def list_user_properties(session: DataReader, _ids: Ids) -> PropertiesRead:
    """Every declared user property, by name."""
    return PropertiesRead(properties=await declarations.list_all(session, USERS))


@router.get("/users-properties/{property_name}/")
async def get_user_property(
    property_name: PropertyName, session: DataReader, _ids: Ids
) -> PropertyRead:
    """One declared user property."""
    return await declarations.get(session, USERS, property_name)


@router.delete("/users-properties/{property_name}/", status_code=204)
async def delete_user_property(property_name: PropertyName, session: DataWriter, _ids: Ids) -> None:
    """Forget a user property and remove its values from every user."""
    await declarations.delete(session, USERS, property_name)
