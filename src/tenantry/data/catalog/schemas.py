"""Items and users as the Crossing Minds API has them: the id beside the properties; and
their declared properties."""

from typing import Any

from pydantic import BaseModel, Field

from tenantry.kernel.schemas import Strict

MAX_BULK = 10_000
PROPERTY_NAME = r"^[A-Za-z0-9_-]{1,64}$"
PROPERTIES = "Declared properties and their values; a PUT replaces the stored ones whole."
PATCHED = "Declared properties to set; `null` removes one. Others are kept."
CREATE = "Create the row when its id is not there (otherwise 404)."
WAIT = "Accepted for the Crossing Minds clients; writes are done when the answer comes."
Properties = dict[str, Any]


class Repeated(Strict):
    """A repeated property in the clients' array format: `array` rows are
    `{"<item|user>_index": i, "value_id": v}`, giving row i's property `name` a list."""

    name: str = Field(min_length=1, max_length=200)
    array: list[dict[str, Any]] = Field(max_length=10 * MAX_BULK)


class ItemWrite(Strict):
    item: Properties = Field(description=PROPERTIES)
    wait_for_completion: bool | None = Field(default=None, description=WAIT)


class UserWrite(Strict):
    user: Properties = Field(description=PROPERTIES)
    wait_for_completion: bool | None = Field(default=None, description=WAIT)


class ItemPatch(Strict):
    item: Properties = Field(description=PATCHED)
    create_if_missing: bool = Field(default=False, description=CREATE)
    wait_for_completion: bool | None = Field(default=None, description=WAIT)


class UserPatch(Strict):
    user: Properties = Field(description=PATCHED)
    create_if_missing: bool = Field(default=False, description=CREATE)
    wait_for_completion: bool | None = Field(default=None, description=WAIT)


class ItemsBulkWrite(Strict):
    items: list[Properties] = Field(
        max_length=MAX_BULK, description="`{item_id, ...properties}` objects; the last wins."
    )
    items_m2m: list[Repeated] = Field(default_factory=list)
    wait_for_completion: bool | None = Field(default=None, description=WAIT)


class UsersBulkWrite(Strict):
    users: list[Properties] = Field(
        max_length=MAX_BULK, description="`{user_id, ...properties}` objects; the last wins."
    )
    users_m2m: list[Repeated] = Field(default_factory=list)
    wait_for_completion: bool | None = Field(default=None, description=WAIT)


class ItemsBulkPatch(ItemsBulkWrite):
    create_if_missing: bool = Field(default=False, description=CREATE)


class UsersBulkPatch(UsersBulkWrite):
    create_if_missing: bool = Field(default=False, description=CREATE)


class ItemsIds(Strict):
    items_id: list[Any] = Field(max_length=MAX_BULK, description="Ids of the item_id_type.")


class UsersIds(Strict):
    users_id: list[Any] = Field(max_length=MAX_BULK, description="Ids of the user_id_type.")


class ItemsListQuery(ItemsIds):
    properties: list[str] | None = Field(
        default=None, max_length=1000, description="Only these properties (default: all)."
    )


class UsersListQuery(UsersIds):
    properties: list[str] | None = Field(
        default=None, max_length=1000, description="Only these properties (default: all)."
    )


class ItemPatched(BaseModel):
    item_created: bool
    item_modified: bool


class UserPatched(BaseModel):
    user_created: bool
    user_modified: bool


class ItemRead(BaseModel):
    item: Properties = Field(description="`item_id` and the properties.")


class UserRead(BaseModel):
    user: Properties = Field(description="`user_id` and the properties.")


class ItemsListed(BaseModel):
    items: list[Properties] = Field(description="Rows of the ids that exist, in id order.")
    items_m2m: list[Repeated] = Field(description="Always empty: lists are inline.")


class UsersListed(BaseModel):
    users: list[Properties] = Field(description="Rows of the ids that exist, in id order.")
    users_m2m: list[Repeated] = Field(description="Always empty: lists are inline.")


class ItemsPage(ItemsListed):
    has_next: bool
    next_cursor: str | None


class UsersPage(UsersListed):
    has_next: bool
    next_cursor: str | None


class PropertyCreate(Strict):
    property_name: str = Field(
        pattern=PROPERTY_NAME, description="1 to 64 of `A-Z a-z 0-9 _ -`; not the id's name."
    )
    value_type: str = Field(
        max_length=32, description="`int8`…`uint64`, `float16/32/64`, `bool`, `unicode<N>`, …"
    )
    repeated: bool = Field(default=False, description="Whether a value is a list of values.")
    indexed: bool = Field(default=False, description="Accepted and kept; filters are not.")


class PropertyRead(BaseModel):
    property_name: str
    value_type: str
    repeated: bool
    indexed: bool


class PropertiesRead(BaseModel):
    properties: list[PropertyRead]
