"""Documents and tenant ids, as the documents API (version 2024-11-04) describes them."""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from tenantry.data.common import not_null
from tenantry.kernel.schemas import Strict

ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
# `POST /documents/browse` is the browse call, `GET /documents/metadata-schema` the schema's
RESERVED_IDS = {"browse", "metadata-schema"}
MAX_CONTENT_BYTES = 100 * 1024
MAX_METADATA_KEYS = 100
MAX_KEY_LENGTH = 50
MAX_VALUE_LENGTH = 500
MAX_METADATA_DEPTH = 5
DEFAULT_TENANT_IDS, MAX_TENANT_IDS, MAX_AFTER = 10, 100, 250

ContentType = Literal["plaintext", "html", "markdown"]
TenantId = Annotated[str, StringConstraints(min_length=1, max_length=250)]


def _content(value: str) -> str:
    if len(value.encode()) > MAX_CONTENT_BYTES:
        raise ValueError(f"may be at most {MAX_CONTENT_BYTES} bytes of UTF-8")
    return value


def _document_id(value: str) -> str:
    if value in RESERVED_IDS:
        raise ValueError(f"{value!r} is reserved")
    return value


def _check_value(value: Any, depth: int) -> None:
    if isinstance(value, dict):
        if depth >= MAX_METADATA_DEPTH:
            raise ValueError(f"may nest at most {MAX_METADATA_DEPTH} levels")
        for key, inner in value.items():
            _check_key(key)
            _check_value(inner, depth + 1)
        return
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"values may be at most {MAX_VALUE_LENGTH} characters")


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"keys must be 1 to {MAX_KEY_LENGTH} characters")


def _metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """At most 100 keys of at most 50 characters; each value at most 500 characters (a
    string's length, else its JSON's); objects may nest, within the same limits."""
    if value is None:
        return None
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"may hold at most {MAX_METADATA_KEYS} keys")
    for key, inner in value.items():
        _check_key(key)
        if inner is not None:  # null removes the key on update
            _check_value(inner, 1)
    return value


Content = Annotated[str, AfterValidator(_content)]
Metadata = Annotated[dict[str, Any], AfterValidator(_metadata)]
OptionalMetadata = Annotated[dict[str, Any] | None, AfterValidator(_metadata)]
DocumentId = Annotated[str, Field(pattern=ID_PATTERN), AfterValidator(_document_id)]


class DocumentCreate(Strict):
    title: str = Field(min_length=1, max_length=250)
    content: Content = ""
    content_type: ContentType = "plaintext"
    id: DocumentId | None = Field(
        default=None, description="1 to 128 of A-Z a-z 0-9 _ -; made up when left out."
    )
    language: str = Field(default="en", min_length=2, max_length=16)
    metadata: Metadata = Field(default_factory=dict)
    source_uri: str | None = Field(default=None, max_length=1000)
    tenant_id: TenantId | None = None
    created_at: datetime | None = Field(default=None, description="ISO 8601; now when left out.")


class DocumentUpdate(Strict):
    """Only the fields sent change. `metadata` is merged key by key: a key set to null
    is removed, and `metadata: null` removes them all."""

    title: Annotated[str, Field(min_length=1, max_length=250)] | SkipJsonSchema[None] = None
    content: Content | SkipJsonSchema[None] = None
    content_type: ContentType | SkipJsonSchema[None] = None
    language: Annotated[str, Field(min_length=2, max_length=16)] | SkipJsonSchema[None] = None
    metadata: OptionalMetadata = None
    source_uri: str | None = Field(default=None, max_length=1000)
    tenant_id: TenantId | None = None

    _reject_null = not_null("title", "content", "content_type", "language")


class DocumentRead(BaseModel):
    object: Literal["document"] = "document"
    id: str
    title: str
    content: str
    content_type: str
    language: str
    metadata: dict[str, Any]
    source_uri: str | None
    tenant_id: str | None
    created_at: datetime
    updated_at: datetime
    livemode: bool


class DocumentDeleted(BaseModel):
    object: Literal["document"] = "document"
    id: str
    deleted: Literal[True] = True
    livemode: bool


class BrowseRequest(Strict):
    limit: int = Field(default=10, ge=1, le=100)
    page: int = Field(default=1, ge=1, le=10_000)
    tenant_id: list[TenantId] | None = Field(default=None, min_length=1, max_length=10)
    language: str | None = Field(default=None, min_length=2, max_length=16)


class DocumentPage(BaseModel):
    object: Literal["list"] = "list"
    url: str
    data: list[DocumentRead]
    has_more: bool
    next_page: int | None
    page: int
    limit: int
    livemode: bool


class ListTenantIds(Strict):
    limit: int = Field(default=DEFAULT_TENANT_IDS, ge=1, le=MAX_TENANT_IDS)
    after: str | None = Field(default=None, min_length=1, max_length=MAX_AFTER)


class TenantIdsResult(BaseModel):
    object: Literal["list_tenant_ids_result"] = "list_tenant_ids_result"
    url: str
    data: list[str]
    has_more: bool
    next_after: str | None
    limit: int
    after: str | None
    total_number_of_results: int
    livemode: bool
