from typing import Any

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from tenantry.kernel.id_types import IdTypeName
from tenantry.kernel.schemas import Strict
from tenantry.models.control import Database

OPTIONAL = ("warnings", "failure_reason")
Name = Field(min_length=1, max_length=200)
Description = Field(default="", max_length=10_000)


class DatabaseSummary(BaseModel):
    id: str
    name: str
    description: str
    item_id_type: str
    user_id_type: str
    session_id_type: str
    status: str
    livemode: bool = Field(
        default=False, description="Live or test data, fixed at creation; keys share it."
    )


def summary(database: Database | None) -> DatabaseSummary | None:
    if database is None:
        return None
    return DatabaseSummary.model_validate(database, from_attributes=True)


class DatabaseCreate(Strict):
    name: str = Name
    description: str = Description
    item_id_type: IdTypeName = Field(max_length=16)
    user_id_type: IdTypeName = Field(max_length=16)
    session_id_type: IdTypeName = Field(default="uuid", max_length=16)
    livemode: bool = Field(
        default=False,
        description="Live data (true) or test data (false); fixed for the database's life. "
        "Its API keys are of the same mode.",
    )
    core_config: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class DatabaseUpdate(Strict):
    description: str | None = Field(default=None, max_length=10_000)
    core_config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    preserve: bool = Field(
        default=False,
        description="Append to lists in core_config and metadata instead of replacing them.",
    )


class Warnings(BaseModel):
    """Optional members are left out of the body when empty, as the API documents them."""

    warnings: list[str] | None = Field(default=None, description="Optional. List of warnings.")

    @model_serializer(mode="wrap")
    def _omit_empty_optionals(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        body: dict[str, Any] = handler(self)
        for name in OPTIONAL:
            if body.get(name, ...) is None:
                del body[name]
        return body


class DatabaseCreated(Warnings):
    id: str


class DatabasePage(Warnings):
    has_next: bool
    next_page: int
    databases: list[DatabaseSummary]


class Counters(Warnings):
    rating: int
    user: int
    item: int


class DatabaseRead(DatabaseSummary, Warnings):
    org_id: str
    counters: Counters
    core_config: dict[str, Any]
    metadata: dict[str, Any] = Field(validation_alias="extra")


class DatabaseEditable(BaseModel):
    description: str
    core_config: dict[str, Any]
    metadata: dict[str, Any]


class DatabasePreview(Warnings):
    metadata_old: DatabaseEditable
    metadata_new: DatabaseEditable


class DatabaseStatusRead(Warnings):
    status: str
    failure_reason: str | None = Field(
        default=None, description="Why provisioning gave up, when the status is `failed`."
    )
