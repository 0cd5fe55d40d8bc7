"""Scenarios as the Crossing Minds client writes and reads them."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tenantry.data.recommendations.filters import MAX_FILTERS
from tenantry.data.recommendations.reranking import MAX_RULES
from tenantry.kernel.schemas import Strict

RecoType = Literal[
    "item_to_items",
    "item_properties_to_items",
    "profile_to_items",
    "profile_to_items_w_ctx_items",
    "profile_to_item_properties",
    "session_to_items",
    "session_to_items_w_ctx_items",
    "session_to_item_properties",
    "users_group_to_items",
]
"""The kinds of recommendation, each with its scenarios: the client's documented four
(item_to_items, profile_to_items, session_to_items, profile_to_item_properties) and those
of its other recommendation calls."""
SCENARIO_NAME = r"^[A-Za-z0-9_-]{1,64}$"
MAX_AMOUNT = 64
ScenarioName = Annotated[str, StringConstraints(pattern=SCENARIO_NAME)]
ScenarioType = Literal["case", "ab_test", "condition", "alias"]
ConditionType = Literal["user_function", "user_property", "item_property"]


class Case(Strict):
    """The business rules a scenario applies."""

    filters: list[Any] | None = Field(
        default=None,
        max_length=MAX_FILTERS,
        description="Item-property filters (scenarios may also use `empty` and `ftsearch`).",
    )
    reranking: list[Any] | None = Field(default=None, max_length=MAX_RULES)
    exclude_rated_items: bool | None = Field(
        default=None, description="For the profile_to_items and session_to_items kinds."
    )
    amt: int | None = Field(default=None, ge=1, le=MAX_AMOUNT, description="How many items.")
    algorithms: str | None = Field(
        default=None, max_length=200, description="Kept and shown; this server has one."
    )
    candidates_preselection: dict[str, Any] | None = Field(
        default=None, description="Kept and shown; this server does not preselect."
    )


class AbTest(Strict):
    """Half the users (or sessions) get `scenario_a`, the others `scenario_b`, by a hash
    of the test's `id` and theirs: the same each time."""

    id: str = Field(min_length=1, max_length=64)
    scenario_a: ScenarioName
    scenario_b: ScenarioName


class Condition(Strict):
    """`then` when `if` holds for the request's user (or source item), else `else`."""

    model_config = ConfigDict(populate_by_name=True)

    condition_type: ConditionType
    if_: dict[str, Any] = Field(alias="if")
    then: ScenarioName
    else_: ScenarioName = Field(alias="else")


class Alias(Strict):
    """Another name for the scenario `to`."""

    to: ScenarioName


class ScenarioWrite(Strict):
    """A scenario: its type, and the member of that name (the others left out)."""

    scenario_type: ScenarioType
    case: Case | None = None
    ab_test: AbTest | None = None
    condition: Condition | None = None
    alias: Alias | None = None

    @model_validator(mode="after")
    def _one_member(self) -> "ScenarioWrite":
        given = [name for name in ("case", "ab_test", "condition", "alias") if getattr(self, name)]
        if given != [self.scenario_type]:
            raise ValueError(
                f"A {self.scenario_type} scenario has its rules in `{self.scenario_type}`, "
                "and no other member of case, ab_test, condition, alias."
            )
        return self


class ScenarioRead(BaseModel):
    name: str
    reco_type: str
    scenario: dict[str, Any]


class ScenariosRead(BaseModel):
    scenarios: list[ScenarioRead]


class Written(BaseModel):
    warnings: list[str] = Field(description="What this server keeps but does not apply.")


class DefaultWrite(Strict):
    name: ScenarioName


class DefaultRead(BaseModel):
    name: str


class UserFunction(Strict):
    """A `user_function` condition's `if`: how many ratings (or interactions) the user has,
    compared with `value`."""

    function_name: Literal["n_ratings", "n_interactions"]
    op: Literal["eq", "neq", "lt", "lte", "gt", "gte"]
    value: int = Field(ge=0)
