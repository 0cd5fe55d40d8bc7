import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from tenantry.data.common import not_null
from tenantry.data.pagination import Page
from tenantry.kernel.schemas import Strict


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


class SpaceRead(BaseModel):
    space_id: uuid.UUID
    name: str
    description: str | None
    metadata: dict[str, Any]
    has_background: bool
    created_at: datetime
    updated_at: datetime


SpacePage = Page[SpaceRead]
