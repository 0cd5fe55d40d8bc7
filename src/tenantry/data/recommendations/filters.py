"""Item-property filters of the recommendations, as the Crossing Minds API has them.

A filter is `<property>:<op>[:<value>]` (the form a query string carries) or
`{"property_name", "op", "value"}` (a body's). Ops, case-insensitive:

| op | value | holds for an item when |
|---|---|---|
| `eq`, `neq` | one value | a value equals it; `neq`: no value does |
| `lt`, `lte`, `gt`, `gte` | a number | a value compares so with it |
| `in`, `notin` | values (a list, or comma-separated) | a value is one of them; `notin`: none is |
| `notempty`, `empty` | none | the item has a value of the property; `empty`: it has none |
| `ftsearch` | words | a value holds all the words (PostgreSQL full-text search, `simple`) |

`empty` and `ftsearch` are for scenarios only. A repeated property matches when any of its
values does, except for `neq`, `notin` and `empty`, which must hold for all of them (an item
without the property passes those). `geq` and `leq` are read as `gte` and `lte`.

Values are typed by the property's declaration: integers and floats compare as numbers,
and floats have no equality (`eq`, `neq`, `in`, `notin` are refused on them, as in the
reference); `lt`…`gte` take numbers only; `ftsearch` takes strings only. Anything else is a
400 naming the filter (`filters.<i>`), before anything is read.

Filters run in the database (`passing`): one statement over the candidates, each filter a
bound `jsonb_path_exists` (or full-text) predicate on `items.properties`, no SQL built from
what a client sends.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH
from sqlalchemy.types import LargeBinary, String

from tenantry.data.catalog import repository
from tenantry.data.catalog.ids import invalid
from tenantry.data.catalog.schemas import PROPERTY_NAME
from tenantry.data.catalog.service import ITEMS, Kind
from tenantry.data.catalog.value_types import FLOATS, INTEGERS, STRINGS, UNICODE, checker
from tenantry.db.sessions import TenantSession

MAX_FILTERS = 10  # per list: a request's, or a scenario's
MAX_VALUES = 1000  # of one `in` or `notin`
MAX_TEXT = 1000  # characters of one filter's text or value

Errors = dict[str, list[str]]

EXISTS = {  # jsonpath in lax mode: `$[*]` is every value, of a repeated property or not
    "eq": "$[*] ? (@ == $v)",
    "in": "$[*] ? (@ == $v[*])",
    "lt": "$[*] ? (@ < $v)",
    "lte": "$[*] ? (@ <= $v)",
    "gt": "$[*] ? (@ > $v)",
    "gte": "$[*] ? (@ >= $v)",
    "notempty": "$[*]",
}
NEGATED = {"neq": "eq", "notin": "in", "empty": "notempty"}
WITHOUT_VALUE = {"notempty", "empty"}
LISTS = {"in", "notin"}
SCENARIO_ONLY = {"empty", "ftsearch"}
OPS = {*EXISTS, *NEGATED, "ftsearch"}
ALIASES = {"geq": "gte", "leq": "lte"}
ORDERS = {"lt", "lte", "gt", "gte"}
EQUALITIES = {"eq", "neq", "in", "notin"}
ALLOWED = {  # the ops each family of value types takes
    "integer": OPS - {"ftsearch"},
    "float": ORDERS | WITHOUT_VALUE,
    "bool": EQUALITIES | WITHOUT_VALUE,
    "string": EQUALITIES | WITHOUT_VALUE | {"ftsearch"},
    "id": EQUALITIES | WITHOUT_VALUE,
}
NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
INTEGER = re.compile(r"-?[0-9]+")
NAME = re.compile(PROPERTY_NAME)
SEARCH_CONFIGURATION: ColumnElement[Any] = literal_column(
    "'simple'::regconfig"
)  # words as written, any language


@dataclass(frozen=True)
class Filter:
    """One filter: `value` is None for ops without one and a tuple for `in` and `notin`;
    as sent after `parse_filters`, typed by the declaration after `check_filters`."""

    property_name: str
    op: str
    value: Any
    field: str
    """Where it was sent (`filters.0`): what a 400 about it names."""

    def as_json(self) -> dict[str, Any]:
        """The object form, as a scenario stores and shows it."""
        shown: dict[str, Any] = {"property_name": self.property_name, "op": self.op}
        if self.value is not None:
            shown["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        return shown


@dataclass(frozen=True)
class Declaration:
    value_type: str
    repeated: bool


def parse_filters(
    raw: Sequence[object] | None, *, field: str = "filters", in_scenario: bool = False
) -> list[Filter]:
    """The filters sent, read (not yet typed: `check_filters`); 400 naming each one that
    is not a filter (`<field>.<i>`), whatever was sent."""
    if raw is None:
        return []
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise invalid({field: ["Expected a list of filters."]})
    if len(raw) > MAX_FILTERS:
        raise invalid({field: [f"At most {MAX_FILTERS} filters."]})
    errors: Errors = {}
    parsed = []
    for index, entry in enumerate(raw):
        where = f"{field}.{index}"
        try:
            parsed.append(parse_filter(entry, where, in_scenario=in_scenario))
        except ValueError as error:
            errors[where] = [str(error)]
    if errors:
        raise invalid(errors)
    return parsed


def parse_filter(entry: object, field: str, *, in_scenario: bool) -> Filter:
    """One filter, read; ValueError saying what is wrong with it."""
    if isinstance(entry, str):
        return _parse_text(entry, field, in_scenario=in_scenario)
    if isinstance(entry, Mapping):
        return _parse_object(entry, field, in_scenario=in_scenario)
    raise ValueError("Expected '<property>:<op>[:<value>]' or {property_name, op, value}.")


def _parse_text(text: str, field: str, *, in_scenario: bool) -> Filter:
    if len(text) > MAX_TEXT:
        raise ValueError(f"At most {MAX_TEXT} characters.")
    name, _, rest = text.partition(":")
    op_text, has_value, value = rest.partition(":")
    op = _op(name, op_text, in_scenario=in_scenario, quoted=text)
    if op in WITHOUT_VALUE:
        if value:
            raise ValueError(f"{text!r}: {op} takes no value.")
        return Filter(name, op, None, field)
    if not has_value:
        raise ValueError(f"{text!r}: {op} needs a value ('{name}:{op}:<value>').")
    listed: Any = tuple(value.split(",")) if op in LISTS else value
    return Filter(name, op, listed, field)


def _parse_object(entry: Mapping[Any, Any], field: str, *, in_scenario: bool) -> Filter:
    unknown = sorted(str(key) for key in entry if key not in ("property_name", "op", "value"))
    if unknown:
        raise ValueError(f"Not a member of a filter: {', '.join(unknown)}.")
    name, op_text = entry.get("property_name"), entry.get("op")
    if not isinstance(name, str) or not isinstance(op_text, str):
        raise ValueError("property_name and op are strings.")
    op = _op(name, op_text, in_scenario=in_scenario, quoted=f"{name}:{op_text}")
    value = entry.get("value")
    if op in WITHOUT_VALUE:
        if value is not None:
            raise ValueError(f"{op} takes no value.")
        return Filter(name, op, None, field)
    if value is None:
        raise ValueError(f"{op} needs a value.")
    if isinstance(value, Mapping):
        raise ValueError("A value is a number, a string, a boolean or a list of them.")
    if op in LISTS:
        value = _listed(value)
    elif isinstance(value, list):
        raise ValueError(f"{op} takes one value, not a list.")
    return Filter(name, op, value, field)


def _listed(value: object) -> tuple[Any, ...]:
    if isinstance(value, str):
        return tuple(value.split(","))
    return tuple(value) if isinstance(value, list) else (value,)


def _op(name: str, op_text: str, *, in_scenario: bool, quoted: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"{quoted!r}: not a property name.")
    op = ALIASES.get(op_text.lower(), op_text.lower())
    if op not in OPS:
        raise ValueError(f"{quoted!r}: {op_text!r} is not an op; one of {', '.join(sorted(OPS))}.")
    if op in SCENARIO_ONLY and not in_scenario:
        raise ValueError(f"{quoted!r}: {op} is for scenarios only.")
    return op


# --- typing by the declarations ------------------------------------------------------------


async def declarations(session: TenantSession, kind: Kind = ITEMS) -> dict[str, Declaration]:
    """The declared properties of `kind` (items unless said), by name."""
    rows = await repository.declarations(session, kind.declared)
    return {row.property_name: Declaration(row.value_type, row.repeated) for row in rows}


async def check_filters(
    session: TenantSession, filters: Sequence[Filter], kind: Kind = ITEMS
) -> list[Filter]:
    """`filters` with their values typed by the declared properties of `kind` (items unless
    said); 400 naming each filter on a property not declared, with an op its type does not
    take, or a value not of its type."""
    if not filters:
        return []
    return typed(filters, await declarations(session, kind), kind)


def typed(
    filters: Sequence[Filter], declared: Mapping[str, Declaration], kind: Kind = ITEMS
) -> list[Filter]:
    """`check_filters` against declarations already read."""
    errors: Errors = {}
    checked = []
    for one in filters:
        try:
            checked.append(_typed(one, declared, kind))
        except ValueError as error:
            errors.setdefault(one.field, []).append(str(error))
    if errors:
        raise invalid(errors)
    return checked


def _typed(one: Filter, declared: Mapping[str, Declaration], kind: Kind) -> Filter:
    declaration = declared.get(one.property_name)
    if declaration is None:
        raise ValueError(f"{one.property_name}: not a declared {kind.name} property.")
    family = value_family(declaration.value_type)
    if one.op not in ALLOWED[family]:
        why = " (floats have no equality)" if family == "float" else ""
        raise ValueError(
            f"{one.property_name} is {declaration.value_type}: no {one.op} on it{why}."
        )
    if one.value is None or one.op == "ftsearch":
        return replace(one, value=_words(one.value) if one.op == "ftsearch" else None)
    if isinstance(one.value, tuple):
        if len(one.value) > MAX_VALUES:
            raise ValueError(f"At most {MAX_VALUES} values.")
        values = tuple(_value(declaration.value_type, family, v) for v in one.value)
        return replace(one, value=values)
    return replace(one, value=_value(declaration.value_type, family, one.value))


def value_family(value_type: str) -> str:
    """`integer`, `float`, `bool`, `string` or `id`: what a filter may do with the type."""
    if value_type in INTEGERS:
        return "integer"
    if value_type in FLOATS:
        return "float"
    if value_type == "bool":
        return "bool"
    if value_type in STRINGS or UNICODE.fullmatch(value_type):
        return "string"
    return "id"


def _value(value_type: str, family: str, value: object) -> object:
    """The value as stored values of `value_type` are: a query string's text read as a
    number or boolean when the type is one; ValueError saying what is expected."""
    if isinstance(value, str):
        value = _from_text(family, _storable(value))
    return checker(value_type)(value)


def _from_text(family: str, text: str) -> object:
    if family == "integer" and INTEGER.fullmatch(text):
        return int(text)
    if family == "float" and NUMBER.fullmatch(text):
        return float(text)
    if family == "bool" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _words(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise ValueError(f"ftsearch takes words: a string of 1 to {MAX_TEXT} characters.")
    return _storable(value)


def _storable(text: str) -> str:
    """`text`, when PostgreSQL can hold it: no NUL, no lone surrogate."""
    if "\x00" in text or not _encodes(text):
        raise ValueError("Not a text PostgreSQL can hold (a NUL or a lone surrogate).")
    return text


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# --- evaluation ----------------------------------------------------------------------------


async def passing(
    session: TenantSession, filters: Sequence[Filter], candidates: Sequence[bytes]
) -> set[bytes]:
    """Which of `candidates` (stored item ids) pass every filter (typed: `check_filters`),
    in one statement. An id with no row has no properties: it passes `neq`, `notin` and
    `empty` only."""
    return await matching(session, ITEMS, filters, candidates)


async def matching(
    session: TenantSession, kind: Kind, filters: Sequence[Filter], keys: Sequence[bytes]
) -> set[bytes]:
    """`passing`, for the rows of `kind` (items or users)."""
    if not filters:
        return set(keys)
    if not keys:
        return set()
    table = kind.table
    wanted = func.unnest(repository.array(keys, LargeBinary())).table_valued("id").render_derived()
    row_id = table.primary_key.columns.values()[0]
    query = (
        select(wanted.c.id)
        .select_from(wanted.outerjoin(table, row_id == wanted.c.id))
        .where(and_(*(predicate(table, one) for one in filters)))
    )
    return set((await session.scalars(query)).all())


def predicate(table: Table, one: Filter) -> ColumnElement[bool]:
    """`one` (typed) as a condition on a row of `table`'s `properties`, its value bound."""
    values = table.c.properties[one.property_name]
    if one.op == "ftsearch":
        words = func.plainto_tsquery(SEARCH_CONFIGURATION, literal(one.value, String))
        return func.to_tsvector(SEARCH_CONFIGURATION, values).op("@@")(words)
    op = NEGATED.get(one.op, one.op)
    found = func.coalesce(
        func.jsonb_path_exists(
            values,
            cast(literal(EXISTS[op]), JSONPATH),
            cast(literal(_variables(one), JSONB), JSONB),
        ),
        false(),
    )
    return not_(found) if one.op in NEGATED else found


def _variables(one: Filter) -> dict[str, Any]:
    return {"v": list(one.value) if isinstance(one.value, tuple) else one.value}
