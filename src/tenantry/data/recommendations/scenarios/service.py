"""Scenarios of the caller's database: writing them (checked whole before anything is
written), reading them, and resolving the one a recommendation request names, or its kind's
default, to the business rules of a case. Services never commit.

- A `case` holds rules: item-property filters (at most 10; `empty` and `ftsearch` too),
  reranking rules, `exclude_rated_items` (the profile_to_items and session_to_items kinds,
  with context items or without) and
  `amt` (at most 64). `algorithms` and `candidates_preselection` are kept and shown, with a
  warning: this server has one way to recommend.
- An `ab_test` sends half the subjects (the request's user, or its session) to
  `scenario_a` and the others to `scenario_b`, by the SHA-256 of the test's id and the
  subject's stored id: the same subject always gets the same one; a request with neither
  gets `scenario_a`.
- A `condition` goes to `then` when its `if` holds, else to `else`: `user_function`
  (`{"function_name": "n_ratings" | "n_interactions", "op", "value"}`: how many ratings or
  interactions the user has) and `user_property` (an object filter on the user's
  properties) on profile_to_* kinds; `item_property` (the same, on the source item) on
  item_to_items. A request without a user (or item) is judged as a user without ratings or
  properties.
- An `alias` goes to `to`.

References name scenarios of the same kind that exist; a write that would make a cycle is
refused (400), and so is deleting a scenario another one names or that is its kind's default
(409 `SCENARIO_IN_USE`). Writers take turns (`repository.lock`), so no two concurrent writes
make a cycle or a dangling reference between them.
"""

import hashlib
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table

from tenantry.data.catalog.ids import invalid
from tenantry.data.catalog.service import ITEMS, USERS
from tenantry.data.recommendations import filters as item_filters
from tenantry.data.recommendations.filters import Filter, parse_filter, parse_filters
from tenantry.data.recommendations.reranking import Rule, check_reranking, parse_reranking
from tenantry.data.recommendations.scenarios import repository
from tenantry.data.recommendations.scenarios.schemas import (
    Case,
    Condition,
    ScenarioRead,
    ScenarioWrite,
    UserFunction,
)
from tenantry.db.sessions import TenantSession
from tenantry.errors import Conflict, NotFound, field_errors
from tenantry.models.data import Interaction, Rating

EXCLUDES_RATED = {  # the kinds whose requests may exclude what was rated
    "profile_to_items",
    "profile_to_items_w_ctx_items",
    "session_to_items",
    "session_to_items_w_ctx_items",
}
OF_A_USER = {"profile_to_items", "profile_to_items_w_ctx_items", "profile_to_item_properties"}
CONDITIONS = {  # the kinds of recommendation each condition type applies to
    "user_function": OF_A_USER,
    "user_property": OF_A_USER,
    "item_property": {"item_to_items"},
}
COMPARE: dict[str, Callable[[int, int], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
COUNTED: dict[str, Table] = {
    "n_ratings": Rating.__table__,  # type: ignore[dict-item]
    "n_interactions": Interaction.__table__,  # type: ignore[dict-item]
}
KEPT_ONLY = ("algorithms", "candidates_preselection")
REFERENCES = {  # the members of each scenario type that name other scenarios
    "case": (),
    "ab_test": ("scenario_a", "scenario_b"),
    "condition": ("then", "else"),
    "alias": ("to",),
}


class ScenarioNotFound(NotFound):
    code = "SCENARIO_NOT_FOUND"
    resource = "scenario"
    default_detail = "No scenario of this kind has this name."


class DefaultScenarioNotFound(NotFound):
    code = "DEFAULT_SCENARIO_NOT_FOUND"
    resource = "default scenario"
    default_detail = "This kind of recommendation has no default scenario."


class ScenarioInUse(Conflict):
    """409; `WrongData` to the client, whose `DuplicatedError` would call it duplicated."""

    code = "SCENARIO_IN_USE"
    error_code = 40
    error_name = "WrongData"
    default_detail = "Another scenario names this one, or it is the default of its kind."


def _missing(reco_type: str, name: str) -> ScenarioNotFound:
    return ScenarioNotFound(
        f"No {reco_type} scenario is named {name}", data={"type": "scenario", "key": name}
    )


def references(scenario: Mapping[str, Any]) -> list[str]:
    """The names a stored scenario points to."""
    kind = scenario["scenario_type"]
    return [scenario[kind][field] for field in REFERENCES[kind]]


# --- writes --------------------------------------------------------------------------------


async def put(session: TenantSession, reco_type: str, name: str, body: ScenarioWrite) -> list[str]:
    """Create or replace a scenario; the warnings about what it holds but this server does
    not apply. 404 when it names a scenario that does not exist, 400 when it is not valid or
    would make a cycle; nothing is written then."""
    document, warnings = await _document(session, reco_type, body)
    await repository.lock(session)
    stored, _ = await repository.of_type(session, reco_type)
    for target in references(document):
        if target not in stored:
            raise _missing(reco_type, target)
    cycle = _cycle(name, references(document), stored)
    if cycle:
        path = " -> ".join(cycle)
        raise invalid({f"scenario.{body.scenario_type}": [f"It would make a cycle: {path}."]})
    await repository.put(session, reco_type, name, document)
    return warnings


def _cycle(name: str, targets: Sequence[str], stored: Mapping[str, Any]) -> list[str]:
    """A path from `name` back to itself through `targets` and the stored references (with
    `name`'s own replaced by `targets`), or [] when there is none."""
    pending = [(target, [name, target]) for target in targets]
    seen: set[str] = set()
    while pending:
        current, path = pending.pop()
        if current == name:
            return path
        if current in seen or current not in stored:
            continue
        seen.add(current)
        pending.extend((nxt, [*path, nxt]) for nxt in references(stored[current]))
    return []


async def _document(
    session: TenantSession, reco_type: str, body: ScenarioWrite
) -> tuple[dict[str, Any], list[str]]:
    """The scenario as stored and shown, checked; and its warnings."""
    kind = body.scenario_type
    if body.case is not None:
        case, warnings = await _case(session, reco_type, body.case)
        return {"scenario_type": kind, "case": case}, warnings
    if body.condition is not None:
        condition = await _condition(session, reco_type, body.condition)
        return {"scenario_type": kind, "condition": condition}, []
    member = body.ab_test or body.alias
    assert member is not None  # ScenarioWrite holds the member its type names
    return {"scenario_type": kind, kind: member.model_dump()}, []


async def _case(
    session: TenantSession, reco_type: str, case: Case
) -> tuple[dict[str, Any], list[str]]:
    if case.exclude_rated_items is not None and reco_type not in EXCLUDES_RATED:
        kinds = ", ".join(sorted(EXCLUDES_RATED))
        raise invalid({"scenario.case.exclude_rated_items": [f"For {kinds} only."]})
    field = "scenario.case"
    filters = parse_filters(case.filters, field=f"{field}.filters", in_scenario=True)
    rules = parse_reranking(case.reranking, field=f"{field}.reranking")
    declared = await item_filters.declarations(session, ITEMS)
    checked = item_filters.typed(filters, declared, ITEMS)
    check_reranking(rules, declared)
    stored = case.model_dump(exclude_none=True)
    stored["filters"] = [one.as_json() for one in checked]
    stored["reranking"] = [rule.as_json() for rule in rules]
    warnings = [
        f"{name} is kept, not applied: this server has one way to recommend."
        for name in KEPT_ONLY
        if name in stored
    ]
    return stored, warnings


async def _condition(
    session: TenantSession, reco_type: str, condition: Condition
) -> dict[str, Any]:
    kind = condition.condition_type
    field = "scenario.condition.if"
    if reco_type not in CONDITIONS[kind]:
        kinds = ", ".join(sorted(CONDITIONS[kind]))
        raise invalid({"scenario.condition.condition_type": [f"{kind} is for {kinds}."]})
    if kind == "user_function":
        try:
            checked: dict[str, Any] = UserFunction.model_validate(condition.if_).model_dump()
        except ValidationError as error:
            errors = field_errors(error.errors())
            raise invalid({f"{field}.{name}": why for name, why in errors.items()}) from None
    else:
        catalog = USERS if kind == "user_property" else ITEMS
        try:
            one = parse_filter(condition.if_, field, in_scenario=True)
        except ValueError as error:
            raise invalid({field: [str(error)]}) from None
        checked = (await item_filters.check_filters(session, [one], catalog))[0].as_json()
    return condition.model_dump(by_alias=True) | {"if": checked}


async def delete(session: TenantSession, reco_type: str, name: str) -> None:
    """Delete a scenario; 404 when there is none, 409 when another names it or it is the
    default of its kind."""
    await repository.lock(session)
    stored, default = await repository.of_type(session, reco_type)
    if name not in stored:
        raise _missing(reco_type, name)
    users = sorted(other for other, one in stored.items() if name in references(one))
    if users or default == name:
        why = f"the scenarios {', '.join(users)} name it" if users else "it is the default"
        raise ScenarioInUse(
            f"The {reco_type} scenario {name} is in use: {why}.",
            data={"type": "scenario", "key": name, "referenced_by": users},
        )
    await repository.remove(session, reco_type, name)


async def set_default(session: TenantSession, reco_type: str, name: str) -> None:
    await repository.lock(session)
    stored, _ = await repository.of_type(session, reco_type)
    if name not in stored:
        raise _missing(reco_type, name)
    await repository.set_default(session, reco_type, name)


async def unset_default(session: TenantSession, reco_type: str) -> None:
    if not await repository.unset_default(session, reco_type):
        raise _no_default(reco_type)


# --- reads ---------------------------------------------------------------------------------


async def get(session: TenantSession, reco_type: str, name: str) -> ScenarioRead:
    stored, _ = await repository.of_type(session, reco_type)
    if name not in stored:
        raise _missing(reco_type, name)
    return ScenarioRead(name=name, reco_type=reco_type, scenario=stored[name])


async def list_all(session: TenantSession) -> list[ScenarioRead]:
    rows = await repository.every(session)
    return [ScenarioRead(reco_type=kind, name=name, scenario=one) for kind, name, one in rows]


async def default_of(session: TenantSession, reco_type: str) -> str:
    name = await repository.default_of(session, reco_type)
    if name is None:
        raise _no_default(reco_type)
    return name


def _no_default(reco_type: str) -> DefaultScenarioNotFound:
    return DefaultScenarioNotFound(
        f"No default scenario is set for {reco_type}",
        data={"type": "default scenario", "key": reco_type},
    )


# --- resolution ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A scenario a request went through: its name and type, where it led (`to`: the
    scenario chosen, for all but a case), and whether the request named it (`runtime`) or it
    is its kind's default (`default`)."""

    origin: str
    scenario_type: str
    scenario_name: str
    to: str | None = None


@dataclass(frozen=True)
class Resolved:
    """The rules of the case a request's scenario led to, and the way there.

    `filters` are read, not typed: check them with the request's own, in one read of the
    declarations (`filters.check_filters(session, [*request_filters, *resolved.filters])`);
    a 400 about one of them names it `scenarios.<name>.filters.<i>`."""

    filters: list[Filter]
    reranking: list[Rule]
    exclude_rated_items: bool | None
    amt: int | None
    steps: tuple[Step, ...]

    @property
    def evaluated(self) -> list[str]:
        """The names of the scenarios evaluated, in order."""
        return [step.scenario_name for step in self.steps]

    def evaluated_scenarios(self) -> dict[str, list[dict[str, str]]]:
        """The answer's `evaluated_scenarios`, as the client documents it:
        `{"runtime" | "default": [{"scenario_type", "scenario_name", "to"?}]}`."""
        shown: dict[str, list[dict[str, str]]] = {}
        for step in self.steps:
            entry = {"scenario_type": step.scenario_type, "scenario_name": step.scenario_name}
            shown.setdefault(step.origin, []).append(
                entry | ({"to": step.to} if step.to is not None else {})
            )
        return shown


@dataclass(frozen=True)
class Rules:
    """What a request applies: its own parameters merged with its scenario's."""

    filters: list[Filter]
    reranking: list[Rule]
    exclude_rated_items: bool
    amt: int | None


def merged(
    resolved: Resolved | None,
    *,
    filters: Sequence[Filter],
    reranking: Sequence[Rule],
    exclude_rated_items: bool | None,
    amt: int | None,
) -> Rules:
    """The request's parameters with its scenario's rules: filters of both apply (an item
    passes all), reranking rules of both apply (the request's first); `exclude_rated_items`
    and `amt` are the request's when it sends them, else the scenario's (else: do not
    exclude, and the route's own default)."""
    if resolved is None:
        return Rules(list(filters), list(reranking), bool(exclude_rated_items), amt)
    exclude = resolved.exclude_rated_items if exclude_rated_items is None else exclude_rated_items
    return Rules(
        [*filters, *resolved.filters],
        [*reranking, *resolved.reranking],
        bool(exclude),
        resolved.amt if amt is None else amt,
    )


async def resolve(
    session: TenantSession,
    reco_type: str,
    name: str | None,
    skip_default: bool,
    subject: bytes | None,
    *,
    item: bytes | None = None,
) -> Resolved | None:
    """The rules of the scenario named (404 when there is none of this kind), else of the
    kind's default unless `skip_default`; None when no scenario applies. `subject` is the
    stored id of the request's user or session (the A/B split and user conditions read it),
    `item` that of its source item (item conditions read it). One read of the kind's
    scenarios, and one more per condition met on the way."""
    stored, default = await repository.of_type(session, reco_type)
    origin = "runtime"
    if name is None:
        if skip_default or default is None:
            return None
        name, origin = default, "default"
    steps: list[Step] = []
    for _ in range(len(stored) + 1):
        scenario = stored.get(name)
        if scenario is None:
            raise _missing(reco_type, name)
        kind = scenario["scenario_type"]
        if kind == "case":
            steps.append(Step(origin, kind, name))
            return _rules(name, scenario["case"], tuple(steps))
        target = await _next(session, scenario[kind], kind, subject, item)
        steps.append(Step(origin, kind, name, target))
        name = target
    raise RuntimeError(f"the {reco_type} scenarios hold a cycle")  # refused on every write


async def _next(
    session: TenantSession,
    body: Mapping[str, Any],
    kind: str,
    subject: bytes | None,
    item: bytes | None,
) -> str:
    """Where an ab_test, a condition or an alias leads."""
    if kind == "alias":
        return str(body["to"])
    if kind == "ab_test":
        return str(body["scenario_a"] if in_group_a(body["id"], subject) else body["scenario_b"])
    holds = await _holds(session, body, subject, item)
    return str(body["then"] if holds else body["else"])


def in_group_a(test_id: str, subject: bytes | None) -> bool:
    """Whether `subject` is in group A of the A/B test `test_id`: half of all subjects are,
    the same ones every time."""
    if subject is None:
        return True
    return hashlib.sha256(test_id.encode() + b"\x00" + subject).digest()[0] < 128


async def _holds(
    session: TenantSession, condition: Mapping[str, Any], subject: bytes | None, item: bytes | None
) -> bool:
    test = condition["if"]
    if condition["condition_type"] == "user_function":
        table = COUNTED[test["function_name"]]
        found = await repository.count_of_user(session, table, subject) if subject else 0
        return COMPARE[test["op"]](found, test["value"])
    catalog, key = (
        (USERS, subject) if condition["condition_type"] == "user_property" else (ITEMS, item)
    )
    one = parse_filter(test, "if", in_scenario=True)
    row = key or b""  # no user (or item): judged as one without properties
    return bool(await item_filters.matching(session, catalog, [one], [row]))


def _rules(name: str, case: Mapping[str, Any], steps: tuple[Step, ...]) -> Resolved:
    field = f"scenarios.{name}"
    return Resolved(
        filters=parse_filters(case.get("filters"), field=f"{field}.filters", in_scenario=True),
        reranking=parse_reranking(case.get("reranking"), field=f"{field}.reranking"),
        exclude_rated_items=case.get("exclude_rated_items"),
        amt=case.get("amt"),
        steps=steps,
    )
