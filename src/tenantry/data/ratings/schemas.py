"""Ratings as the Crossing Minds API has them."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from tenantry.data.flexible_ids import WireId
from tenantry.kernel.schemas import Strict

MAX_BULK = 20_000
Score = Annotated[float, Field(ge=1, le=10, allow_inf_nan=False, description="From 1 to 10.")]
Timestamp = Annotated[
    float | None,
    Field(default=None, ge=0, allow_inf_nan=False, description="Seconds since 1970; default now."),
]
AnyId = Annotated[Any, Field(description="An id of the database's id type.")]


class RatingWrite(Strict):
    rating: Score
    timestamp: Timestamp


class UserRatingWrite(Strict):
    item_id: AnyId
    rating: Score
    timestamp: Timestamp


class RatingBulkWrite(UserRatingWrite):
    user_id: AnyId


class UserRatingsWrite(Strict):
    ratings: list[UserRatingWrite] = Field(max_length=MAX_BULK)


class RatingsBulkWrite(Strict):
    ratings: list[RatingBulkWrite] = Field(
        max_length=MAX_BULK, description="A (user, item) sent twice: the last one wins."
    )


class UserRatingRead(BaseModel):
    item_id: WireId
    rating: float
    timestamp: float


class RatingRead(UserRatingRead):
    user_id: WireId


class UserRatingsPage(BaseModel):
    has_next: bool
    next_page: int
    user_ratings: list[UserRatingRead]


class RatingsPage(BaseModel):
    ratings: list[RatingRead]
    has_next: bool
    next_cursor: str | None
