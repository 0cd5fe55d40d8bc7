"""Reranking rules of the recommendations, as the Crossing Minds API writes them:
`<property>:<op>[:<weight>[:<option>:<value>]…]` (the weight may be left empty, as in
`price:boost::default_malus:0.5`), or
`{"property_name", "op", "weight", "options": {<option>: <value>}}`.

Rules reorder the candidates a model scored; they never add or drop one. The model's
scores are first scaled to [0, 1] over the candidates, then:

- `diversity` (a property of any type, no option): an item loses `weight` for each value of
  the property it shares with an item placed before it;
- `boost` (a number or a bool): an item gains `weight` times its value scaled to [0, 1] over
  the candidates (its largest, for a repeated property); option `default_malus`, what an
  item without a value loses (0);
- `recency` (a number: a Unix time): an item gains `weight` times 1 - its age /
  `activation_period` while younger than that; options `activation_period` in seconds
  (604,800: a week) and `default_malus`.

`weight` is positive (1 when not given). Diversity is greedy: the list is built one item at a
time, each time the best of the rest after the losses the items already placed inflict.
Anything else is a 400 naming the rule (`reranking.<i>`).
"""

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.types import LargeBinary

from tenantry.data.catalog import repository
from tenantry.data.catalog.ids import invalid
from tenantry.data.catalog.service import ITEMS
from tenantry.data.recommendations.filters import (
    MAX_TEXT,
    NAME,
    Declaration,
    declarations,
    value_family,
)
from tenantry.db.sessions import TenantSession

MAX_RULES = 10
OPTIONS = {  # the options each op takes
    "diversity": frozenset[str](),
    "boost": frozenset({"default_malus"}),
    "recency": frozenset({"activation_period", "default_malus"}),
}
FAMILIES = {  # the value types each op reads
    "diversity": {"integer", "float", "bool", "string", "id"},
    "boost": {"integer", "float", "bool"},
    "recency": {"integer", "float"},
}
DEFAULTS = {"activation_period": 7 * 24 * 3600.0, "default_malus": 0.0}

Errors = dict[str, list[str]]
Scores = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Rule:
    property_name: str
    op: str
    weight: float
    options: Mapping[str, float] = field(default_factory=dict)
    field: str = "reranking"
    """Where it was sent (`reranking.0`): what a 400 about it names."""

    def option(self, name: str) -> float:
        return self.options.get(name, DEFAULTS[name])

    def as_json(self) -> dict[str, Any]:
        """The object form, as a scenario stores and shows it."""
        shown: dict[str, Any] = {
            "property_name": self.property_name,
            "op": self.op,
            "weight": self.weight,
        }
        if self.options:
            shown["options"] = dict(self.options)
        return shown


def parse_reranking(raw: Sequence[object] | None, *, field: str = "reranking") -> list[Rule]:
    """The rules sent; 400 naming each one that is not a rule (`<field>.<i>`), whatever was
    sent. Which properties they name is checked against the declarations by `rerank`."""
    if raw is None:
        return []
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise invalid({field: ["Expected a list of reranking rules."]})
    if len(raw) > MAX_RULES:
        raise invalid({field: [f"At most {MAX_RULES} reranking rules."]})
    errors: Errors = {}
    rules = []
    for index, entry in enumerate(raw):
        where = f"{field}.{index}"
        try:
            rules.append(_parse_one(entry, where))
        except ValueError as error:
            errors[where] = [str(error)]
    if errors:
        raise invalid(errors)
    return rules


def _parse_one(entry: object, where: str) -> Rule:
    if isinstance(entry, str):
        return _parse_text(entry, where)
    if isinstance(entry, Mapping):
        return _parse_object(entry, where)
    raise ValueError("Expected '<property>:<op>[:<weight>[:<option>:<value>]…]' or an object.")


def _parse_text(text: str, where: str) -> Rule:
    if len(text) > MAX_TEXT:
        raise ValueError(f"At most {MAX_TEXT} characters.")
    parts = text.split(":")
    if len(parts) < 2:
        raise ValueError(f"{text!r}: expected '<property>:<op>[:<weight>]'.")
    name, op, *rest = parts
    weight = rest[0] if rest and rest[0] != "" else None
    pairs = rest[1:]
    if len(pairs) % 2:
        raise ValueError(f"{text!r}: options go in pairs, '<option>:<value>'.")
    options = dict(zip(pairs[::2], pairs[1::2], strict=True))
    return _rule(name, op, weight, options, where)


def _parse_object(entry: Mapping[Any, Any], where: str) -> Rule:
    unknown = sorted(str(k) for k in entry if k not in ("property_name", "op", "weight", "options"))
    if unknown:
        raise ValueError(f"Not a member of a reranking rule: {', '.join(unknown)}.")
    name, op = entry.get("property_name"), entry.get("op")
    if not isinstance(name, str) or not isinstance(op, str):
        raise ValueError("property_name and op are strings.")
    options = entry.get("options") or {}
    if not isinstance(options, Mapping):
        raise ValueError("options is an object: {<option>: <value>}.")
    return _rule(name, op, entry.get("weight"), options, where)


def _rule(name: str, op_text: str, weight: object, options: Mapping[Any, Any], where: str) -> Rule:
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r}: not a property name.")
    op = op_text.lower()
    if op not in OPTIONS:
        raise ValueError(f"{op_text!r} is not a reranking op; one of {', '.join(OPTIONS)}.")
    unknown = sorted(str(key) for key in options if key not in OPTIONS[op])
    if unknown:
        takes = ", ".join(sorted(OPTIONS[op])) or "none"
        raise ValueError(f"{op} takes no option {', '.join(unknown)} (it takes: {takes}).")
    read = {str(key): _number(key, value) for key, value in options.items()}
    if read.get("activation_period", 1.0) <= 0:
        raise ValueError("activation_period is a positive number of seconds.")
    return Rule(name, op, 1.0 if weight is None else _weight(weight), read, where)


def _weight(value: object) -> float:
    number = _number("weight", value)
    if number <= 0:
        raise ValueError("weight is a positive number.")
    return number


def _number(name: object, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} is a number.")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} is a number, not {value!r}.") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} is a finite number, at least 0.")
    return number


def check_reranking(rules: Sequence[Rule], declared: Mapping[str, Declaration]) -> None:
    """400 naming each rule on a property not declared, or of a type its op cannot read."""
    errors: Errors = {}
    for rule in rules:
        declaration = declared.get(rule.property_name)
        if declaration is None:
            errors[rule.field] = [f"{rule.property_name}: not a declared item property."]
        elif value_family(declaration.value_type) not in FAMILIES[rule.op]:
            message = f"{rule.property_name} is {declaration.value_type}: no {rule.op} on it."
            errors[rule.field] = [message]
    if errors:
        raise invalid(errors)


# --- reranking -----------------------------------------------------------------------------


async def rerank(
    session: TenantSession,
    rules: Sequence[Rule],
    candidates: list[bytes],
    scores: Sequence[float],
    *,
    limit: int | None = None,
) -> list[bytes]:
    """`candidates` (stored item ids, as scored by a model: `scores`, higher is better) in
    the order the rules make; the first `limit` (all unless said) placed one by one when a
    rule asks for diversity, the rest after them by score. One read of the rules' properties
    of the candidates; 400 naming a rule whose property is not declared or not of a type
    its op reads."""
    if len(scores) != len(candidates):
        raise ValueError("one score per candidate")
    if not rules or not candidates:
        return list(candidates)
    check_reranking(rules, await declarations(session))
    names = sorted({rule.property_name for rule in rules})
    values = await _values(session, names, candidates)
    adjusted = _scaled(np.asarray(scores, dtype=np.float64))
    for rule in rules:
        if rule.op != "diversity":
            adjusted += _gain(rule, values[rule.property_name])
    diverse = [rule for rule in rules if rule.op == "diversity"]
    order = _greedy(adjusted, diverse, values, limit) if diverse else _by_score(adjusted)
    return [candidates[index] for index in order]


async def _values(
    session: TenantSession, names: Sequence[str], candidates: Sequence[bytes]
) -> dict[str, list[Any]]:
    """Each property's values for each candidate, in the candidates' order (None: none)."""
    table = ITEMS.table
    wanted = (
        func.unnest(repository.array(candidates, LargeBinary()))
        .table_valued("id", with_ordinality="position")
        .render_derived()
    )
    query = (
        select(*(table.c.properties[name] for name in names))
        .select_from(wanted.outerjoin(table, table.c.item_id == wanted.c.id))
        .order_by(wanted.c.position)
    )
    rows = (await session.execute(query)).all()
    return {name: [row[column] for row in rows] for column, name in enumerate(names)}


def _scaled(values: Scores) -> Scores:
    """`values` scaled to [0, 1] (all 0 when they are all equal); NaN stays NaN."""
    low, high = np.nanmin(values), np.nanmax(values)
    if not high > low:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def _gain(rule: Rule, values: Sequence[Any]) -> Scores:
    """What `rule` (boost or recency) adds to each candidate's score."""
    numbers = np.array([_largest(value) for value in values], dtype=np.float64)
    missing = np.isnan(numbers)
    if rule.op == "boost":
        part = _scaled(numbers) if not missing.all() else numbers
    else:
        age = time.time() - numbers
        part = np.clip(1.0 - age / rule.option("activation_period"), 0.0, 1.0)
    gain: Scores = rule.weight * np.where(missing, 0.0, part)
    return gain - np.where(missing, rule.option("default_malus"), 0.0)


def _largest(value: Any) -> float:
    """A stored value as a number (bool: 0 or 1; repeated: the largest); NaN for none."""
    numbers = [float(one) for one in _listed(value) if isinstance(one, int | float)]
    return max(numbers) if numbers else math.nan


def _by_score(adjusted: Scores) -> list[int]:
    """Positions by score, highest first; ties keep the candidates' order."""
    return [int(index) for index in np.argsort(-adjusted, kind="stable")]


def _greedy(
    adjusted: Scores, rules: Sequence[Rule], values: Mapping[str, Sequence[Any]], limit: int | None
) -> list[int]:
    """The diversity rules' order: each next item the best of the rest once every item
    placed has taken `weight` from those sharing one of its values."""
    count = len(adjusted)
    steps = count if limit is None else min(limit, count)
    sharing = [(rule.weight, _groups(values[rule.property_name])) for rule in rules]
    score = adjusted.copy()
    order: list[int] = []
    for _ in range(steps):
        best = int(np.argmax(score))
        order.append(best)
        score[best] = -np.inf
        for weight, (members, groups_of) in sharing:
            for group in groups_of[best]:
                score[members[group]] -= weight
    placed = set(order)
    rest = [index for index in _by_score(score) if index not in placed]
    return order + rest


def _groups(values: Sequence[Any]) -> tuple[list[npt.NDArray[np.intp]], list[list[int]]]:
    """Candidates grouped by value: each group's positions, and each candidate's groups."""
    group_of_value: dict[Any, int] = {}
    positions: list[list[int]] = []
    groups_of: list[list[int]] = []
    for position, value in enumerate(values):
        mine = []
        for one in set(_listed(value)):
            group = group_of_value.setdefault(one, len(positions))
            if group == len(positions):
                positions.append([])
            positions[group].append(position)
            mine.append(group)
        groups_of.append(mine)
    return [np.array(members, dtype=np.intp) for members in positions], groups_of


def _listed(value: Any) -> list[Any]:
    """A stored value as a list: a repeated property's values, one value, or none."""
    return value if isinstance(value, list) else [] if value is None else [value]
