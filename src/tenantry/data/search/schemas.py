"""Search requests and results, as the documents API (version 2024-11-04) names them:
`filter` (must / must_not / should), `facet`, `facet_advanced` and `sort` name fields in dot
notation (`metadata.brand`, `metadata.sale.ends`, `tenant_id`, `created_at`, …)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
)

from tenantry.kernel.schemas import Strict

MAX_QUERY = 1000
MAX_FILTER_DEPTH = 5  # nested `bool` clauses
MAX_CLAUSES = 50
MAX_TERMS = 100
MAX_FACETS = 10
DEFAULT_BUCKETS, MAX_BUCKETS = 10, 100
METADATA_FIELD = r"metadata(\.[^.]{1,50}){1,6}"
DOCUMENT_FIELDS = ("tenant_id", "language", "created_at", "updated_at")
FIELD = rf"^({METADATA_FIELD}|{'|'.join(DOCUMENT_FIELDS)})$"
SORT_FIELD = rf"^({METADATA_FIELD}|created_at|updated_at|_score)$"
FACET_FIELD = rf"^({METADATA_FIELD}|tenant_id|language)$"

SearchType = Literal["lexical", "ai_semantic", "hybrid"]
FieldName = Annotated[str, StringConstraints(pattern=FIELD)]
Scalar = Annotated[str, StringConstraints(max_length=500)] | bool | int | float
TenantId = Annotated[str, StringConstraints(min_length=1, max_length=250)]


class Bounds(Strict):
    gt: Scalar | None = None
    gte: Scalar | None = None
    lt: Scalar | None = None
    lte: Scalar | None = None


class ExistsField(Strict):
    field: FieldName


class TermClause(Strict):
    """The field holds this value (or, for an array, holds it among its values)."""

    term: dict[FieldName, Scalar] = Field(min_length=1, max_length=1)


class TermsClause(Strict):
    """The field holds any of these values."""

    terms: dict[FieldName, Annotated[list[Scalar], Field(min_length=1, max_length=MAX_TERMS)]] = (
        Field(min_length=1, max_length=1)
    )


class RangeClause(Strict):
    """The field's value is within the bounds (numbers as numbers, dates and strings in
    their order)."""

    range: dict[FieldName, Bounds] = Field(min_length=1, max_length=1)


class ExistsClause(Strict):
    """The field has a value."""

    exists: ExistsField


class BoolClause(Strict):
    """A nested filter."""

    bool: "Filter"


def _clause_kind(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    return None


Clause = Annotated[
    Annotated[TermClause, Tag("term")]
    | Annotated[TermsClause, Tag("terms")]
    | Annotated[RangeClause, Tag("range")]
    | Annotated[ExistsClause, Tag("exists")]
    | Annotated[BoolClause, Tag("bool")],
    Discriminator(
        _clause_kind,
        custom_error_type="invalid_clause",
        custom_error_message="A clause is one of term, terms, range, exists or bool",
    ),
]
Clauses = Annotated[list[Clause], Field(min_length=1, max_length=MAX_CLAUSES)]


def _depth(value: Any) -> int:
    """How deeply `value` nests objects and arrays, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            stack.extend((child, depth + 1) for child in children)
    return deepest


class Filter(Strict):
    """Documents matching every `must` clause, no `must_not` clause and, when `should` is
    given, at least `minimum_should_match` (default 1) of its clauses."""

    must: Clauses | None = None
    must_not: Clauses | None = None
    should: Clauses | None = None
    minimum_should_match: int | None = Field(default=None, ge=0, le=MAX_CLAUSES)


BoolClause.model_rebuild()


def _shallow_filter(value: Any) -> Any:
    # Each nested `bool` adds four levels: {"must": [{"bool": {…}}]}.
    if _depth(value) > 4 * MAX_FILTER_DEPTH + 4:
        raise ValueError(f"may nest at most {MAX_FILTER_DEPTH} bool clauses")
    return value


class SortOrder(Strict):
    order: Literal["asc", "desc"] | None = None
    missing: Literal["_last", "_first"] = "_last"
    mode: Literal["min", "max", "avg", "sum", "median"] | None = None


SortField = Annotated[str, StringConstraints(pattern=SORT_FIELD)]
FacetField = Annotated[str, StringConstraints(pattern=FACET_FIELD)]


class TermsCriteria(Strict):
    field: FacetField
    size: int = Field(default=DEFAULT_BUCKETS, ge=1, le=MAX_BUCKETS)


class NumericRange(Strict):
    key: str | None = Field(default=None, max_length=100)
    from_: float | None = Field(default=None, alias="from")
    to: float | None = None


class RangeCriteria(Strict):
    field: Annotated[str, StringConstraints(pattern=rf"^{METADATA_FIELD}$")]
    ranges: list[NumericRange] = Field(min_length=1, max_length=MAX_BUCKETS)


class TermsFacet(Strict):
    type: Literal["terms"]
    criteria: TermsCriteria


class RangeFacet(Strict):
    type: Literal["range"]
    criteria: RangeCriteria


AdvancedFacet = Annotated[TermsFacet | RangeFacet, Field(discriminator="type")]


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=MAX_QUERY)
    search_type: SearchType
    ai_search_cutoff_score: int = Field(default=50, ge=0, le=90)
    excerpts: bool = True
    facet: list[FacetField] | None = Field(default=None, min_length=1, max_length=MAX_FACETS)
    facet_advanced: list[AdvancedFacet] | None = Field(
        default=None, min_length=1, max_length=MAX_FACETS
    )
    filter: Filter | None = None
    fuzzy_search: bool = True
    highlights: bool = True
    hybrid_search_ai_ratio: float = Field(default=0.5, ge=0, le=1)
    language: str = Field(default="en", min_length=2, max_length=16)
    multilingual_search: bool = False
    limit: int = Field(default=10, ge=1, le=100)
    page: int = Field(default=1, ge=1, le=10_000)
    sort: list[Annotated[dict[SortField, SortOrder], Field(min_length=1, max_length=1)]] | None = (
        Field(default=None, min_length=1, max_length=5)
    )
    tenant_id: list[TenantId] | None = Field(default=None, min_length=1, max_length=10)

    _shallow = field_validator("filter", mode="before")(_shallow_filter)


class SearchResult(BaseModel):
    object: Literal["search_result"] = "search_result"
    id: str
    title: str
    excerpt: str | None
    score: float
    content_type: str
    language: str
    metadata: dict[str, Any]
    source_uri: str | None
    tenant_id: str | None
    created_at: datetime
    updated_at: datetime


class Bucket(BaseModel):
    value: Any
    doc_count: int


class FacetResult(BaseModel):
    buckets: list[Bucket]


class SearchResults(BaseModel):
    object: Literal["list"] = "list"
    url: str
    data: list[SearchResult]
    has_more: bool
    next_page: int | None
    page: int
    limit: int
    search_type: SearchType
    facet_result: dict[str, FacetResult] | None = None
    livemode: bool


class MetadataSchema(BaseModel):
    object: Literal["metadata_schema"] = "metadata_schema"
    url: str
    data: dict[str, str] = Field(description="Each metadata field in dot notation: its type.")
    livemode: bool
