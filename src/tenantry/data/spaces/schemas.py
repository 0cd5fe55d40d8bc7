from typing import Annotated, Any

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from tenantry.data.common import not_null, read_model, rows_of
from tenantry.data.pagination import Page
from tenantry.kernel.schemas import Strict
from tenantry.models.data import Space


class SpaceCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Unvalidated JSON.")


class SpaceUpdate(Strict):
    """Only the fields sent change; `name` and `metadata` cannot be null."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    description: str | None = Field(default=None, max_length=10_000)
    metadata: dict[str, Any] | SkipJsonSchema[None] = None

    _reject_null = not_null("name", "metadata")


SpaceRead = read_model("SpaceRead", Space, has_background=bool)
"""A space as `repository.COLUMNS` reads it."""


SpaceRow = rows_of(SpaceRead)
SpacePage = Page[SpaceRead]  # type: ignore[valid-type]  # a model made at import
