import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from tenantry.data.common import not_null
from tenantry.data.pagination import Page
from tenantry.kernel.schemas import Strict

Text = Field(default=None, max_length=10_000)
Short = Field(default=None, max_length=200)


class TenantModelCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Text
    model_id: str | None = Field(default=None, max_length=200, description="The model to use.")
    alias: str | None = Field(default=None, max_length=200, description="A name for clients.")
    is_enabled: bool = True
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Per-tenant settings, as unvalidated JSON."
    )


class TenantModelUpdate(Strict):
    """Only the fields sent change; `name`, `is_enabled` and `overrides` cannot be null."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    description: str | None = Text
    model_id: str | None = Short
    alias: str | None = Short
    is_enabled: bool | SkipJsonSchema[None] = None
    overrides: dict[str, Any] | SkipJsonSchema[None] = None

    _reject_null = not_null("name", "is_enabled", "overrides")


class TenantModelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tenant_model_id: uuid.UUID
    name: str
    description: str | None
    model_id: str | None
    alias: str | None
    is_enabled: bool
    overrides: dict[str, Any]
    created_at: datetime
    updated_at: datetime


TenantModelPage = Page[TenantModelRead]
