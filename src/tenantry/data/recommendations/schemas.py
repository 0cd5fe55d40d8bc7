"""Bodies and answers of the recommendation, task and trained-model routes, as the
Crossing Minds client sends and reads them."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from tenantry.kernel.schemas import Strict

AnyId = Annotated[Any, Field(description="An id of the database's id type.")]
Amount = Annotated[int, Field(ge=1, le=64, description="Items at most (default 16).")]
MAX_GIVEN = 1000  # ratings, interactions, context items or users in one body


class GivenRating(Strict):
    item_id: AnyId
    rating: float = Field(ge=0, le=10, allow_inf_nan=False)
    timestamp: float | None = None


class GivenInteraction(Strict):
    item_id: AnyId
    interaction_type: str = Field(min_length=1, max_length=64)
    timestamp: float | None = None
    properties: dict[str, Any] | None = None


class Rules(Strict):
    """What every POSTed recommendation may ask besides its subject."""

    amt: Amount | None = None
    cursor: str | None = Field(default=None, max_length=1000)
    filters: list[Any] | None = None
    reranking: list[Any] | None = None
    scenario: str | None = Field(default=None, max_length=64)
    skip_default_scenario: bool = False


class SessionQuery(Rules):
    ratings: list[GivenRating] | None = Field(default=None, max_length=MAX_GIVEN)
    interactions: list[GivenInteraction] | None = Field(default=None, max_length=MAX_GIVEN)
    user_properties: dict[str, Any] | None = None
    exclude_rated_items: bool | None = None
    user_id: AnyId | None = None
    session_id: AnyId | None = None


class ContextSessionQuery(SessionQuery):
    context_items: list[AnyId] = Field(max_length=MAX_GIVEN)


class ContextUserQuery(Rules):
    context_items: list[AnyId] = Field(max_length=MAX_GIVEN)
    exclude_rated_items: bool | None = None


class GenericQuery(SessionQuery):
    item_id: AnyId | None = None
    context_items: list[AnyId] | None = Field(default=None, max_length=MAX_GIVEN)
    item_properties: dict[str, Any] | None = None
    table: str | None = Field(default=None, max_length=200)


class UsersGroupQuery(Rules):
    users: list[AnyId] = Field(min_length=1, max_length=100)
    consensus_factor: float = Field(default=0.0, ge=0, le=1)


class ItemPropertiesQuery(Rules):
    item_properties: dict[str, Any] = Field(max_length=20)


class SessionPropertiesQuery(Strict):
    ratings: list[GivenRating] | None = Field(default=None, max_length=MAX_GIVEN)
    interactions: list[GivenInteraction] | None = Field(default=None, max_length=MAX_GIVEN)
    user_properties: dict[str, Any] | None = None
    amt: Amount | None = None
    filters: list[Any] | None = None
    scenario: str | None = Field(default=None, max_length=64)
    skip_default_scenario: bool = False
    user_id: AnyId | None = None
    session_id: AnyId | None = None


class ItemsPage(BaseModel):
    items_id: list[Any]
    next_cursor: str | None = None
    evaluated_scenarios: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)


class PropertiesPage(BaseModel):
    properties: list[Any]
    warnings: list[str] = Field(default_factory=list)


class Precomputed(BaseModel):
    items_id: list[Any]
    warnings: list[str] = Field(default_factory=list)


class TaskTriggered(BaseModel):
    task_id: str
    warnings: list[str] = Field(default_factory=list)


class Task(BaseModel):
    task_id: str
    name: str
    start_time: float
    status: str
    progress: str


class TasksPage(BaseModel):
    tasks: list[Task]
    has_next: bool
    next_page: int
    warnings: list[str] = Field(default_factory=list)


class TrainedModel(BaseModel):
    id: str
    trained_timestamp: str
    algorithm: str


class TrainedModels(BaseModel):
    trained_models: list[TrainedModel]
    warnings: list[str] = Field(default_factory=list)


class InteractionRatingWrite(Strict):
    rating: float = Field(ge=1, le=10, allow_inf_nan=False, description="1 to 10.")


class InteractionRatingRead(BaseModel):
    interaction_type: str
    rating: float
    default: bool = Field(description="The server's default, not set for this database.")


class InteractionRatings(BaseModel):
    interaction_types: list[InteractionRatingRead]
    other_types_rating: float = Field(description="The rating of any type not listed.")
