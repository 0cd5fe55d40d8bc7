"""Items and users as the Crossing Minds API has them: the id beside the properties."""

from typing import Any

from pydantic import BaseModel, Field

from tenantry.kernel.schemas import Strict

MAX_BULK = 10_000
PROPERTIES = "Properties: a JSON object; a PUT replaces the stored one whole."
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


class ItemRead(BaseModel):
    item: Properties = Field(description="`item_id` and the properties.")


class UserRead(BaseModel):
    user: Properties = Field(description="`user_id` and the properties.")


class ItemsPage(BaseModel):
    items: list[Properties]
    has_next: bool
    next_cursor: str | None


class UsersPage(BaseModel):
    users: list[Properties]
    has_next: bool
    next_cursor: str | None
