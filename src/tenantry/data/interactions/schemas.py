"""Interactions and resolved sessions as the Crossing Minds API has them."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from tenantry.data.flexible_ids import WireId
from tenantry.data.pagination import MAX_CURSOR_LENGTH
from tenantry.kernel.schemas import Strict

MAX_BULK = 20_000
MAX_TYPE_LENGTH = 64
MAX_PROPERTIES = 100
MAX_AMOUNT = 5000
MAX_USERS = 10_000
# Printable text only: a control character (NUL above all) in a type is refused here.
INTERACTION_TYPE = r"^[^\x00-\x1f\x7f]+$"

InteractionType = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TYPE_LENGTH,
        pattern=INTERACTION_TYPE,
        description="What happened, e.g. `productView`, `addToCart`: 1 to 64 characters.",
    ),
]
Timestamp = Annotated[
    float | None,
    Field(default=None, ge=0, allow_inf_nan=False, description="Seconds since 1970; default now."),
]
Properties = Annotated[
    dict[str, Any],
    Field(
        default_factory=dict,
        max_length=MAX_PROPERTIES,
        description="Anything to keep with the interaction (a price, a quantity…).",
    ),
]
AnyId = Annotated[Any, Field(description="An id of the database's id type.")]
CREATED = "Accepted for the Crossing Minds clients; always empty."


class InteractionWrite(Strict):
    interaction_type: InteractionType
    timestamp: Timestamp
    properties: Properties


class ItemInteractionWrite(InteractionWrite):
    item_id: AnyId


class UserInteractionWrite(ItemInteractionWrite):
    user_id: AnyId


class SessionInteractionWrite(ItemInteractionWrite):
    session_id: AnyId


class ItemInteractionsWrite(Strict):
    interactions: list[ItemInteractionWrite] = Field(max_length=MAX_BULK)


class UserInteractionsWrite(Strict):
    interactions: list[UserInteractionWrite] = Field(
        max_length=MAX_BULK, description="An interaction sent twice: the last one wins."
    )


class SessionInteractionsWrite(Strict):
    interactions: list[SessionInteractionWrite] = Field(
        max_length=MAX_BULK, description="An interaction sent twice: the last one wins."
    )


class Created(BaseModel):
    warnings: list[str] = Field(default_factory=list, description=CREATED)


class ItemInteractionRead(BaseModel):
    item_id: WireId
    interaction_type: str
    timestamp: float
    properties: dict[str, Any]


class UserInteractionRead(ItemInteractionRead):
    user_id: WireId


class SessionInteractionRead(ItemInteractionRead):
    session_id: WireId


class ItemInteractionsPage(BaseModel):
    interactions: list[ItemInteractionRead]
    has_next: bool
    next_cursor: str | None


class UserInteractionsPage(BaseModel):
    interactions: list[UserInteractionRead]
    has_next: bool
    next_cursor: str | None


class SessionInteractionsPage(BaseModel):
    interactions: list[SessionInteractionRead]
    has_next: bool
    next_cursor: str | None


class SessionResolve(Strict):
    user_id: AnyId
    timestamp: Timestamp


class ResolvedSessionsQuery(Strict):
    users_id: list[AnyId] | None = Field(
        default=None, max_length=MAX_USERS, description="Only these users' sessions."
    )
    amt: int = Field(default=300, ge=1, le=MAX_AMOUNT, description="Rows per page.")
    cursor: str | None = Field(
        default=None,
        max_length=MAX_CURSOR_LENGTH,
        description="`next_cursor` of the previous page.",
    )


class ResolvedSessionRead(BaseModel):
    session_id: WireId
    user_id: WireId
    timestamp: float


class ResolvedSessionsPage(BaseModel):
    resolved_sessions: list[ResolvedSessionRead]
    has_next: bool
    next_cursor: str | None
