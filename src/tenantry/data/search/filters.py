"""`filter`, `sort` and facets as SQL on `documents`: values are always bound parameters,
field names become JSON paths (`metadata.sale.ends` is `metadata #> '{sale,ends}'`)."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, aggregate_order_by
from sqlalchemy.types import Double, Text

from tenantry.data.search.schemas import (
    BoolClause,
    Bounds,
    ExistsClause,
    Filter,
    RangeClause,
    SortOrder,
    TermClause,
    TermsClause,
)
from tenantry.errors import ValidationFailed
from tenantry.models.data import Document

TIMES = {"created_at": Document.created_at, "updated_at": Document.updated_at}
TEXTS = {"tenant_id": Document.tenant_id, "language": Document.language}
OPERATORS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
EMPTY_PATH = literal([], ARRAY(Text))  # `value #>> '{}'`: a JSON scalar as text


def metadata_path(field: str) -> ColumnElement[Any]:
    """The JSON value at `metadata.a.b` (null when absent)."""
    path = field.split(".")[1:]
    return Document.extra.op("#>")(cast(bindparam(None, path, type_=ARRAY(Text)), ARRAY(Text)))


def _json(value: Any) -> ColumnElement[Any]:
    return cast(bindparam(None, json.dumps(value), type_=Text), JSONB)


def _time(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(errors={where: ["must be an ISO 8601 date or time"]}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.now().astimezone().tzinfo)


def _holds(field: str, value: Any, where: str) -> ColumnElement[bool]:
    if field in TIMES:
        return TIMES[field] == _time(value, where)
    if field in TEXTS:
        return TEXTS[field] == str(value)
    found = metadata_path(field)
    return or_(found == _json(value), found.op("@>")(_json([value])))


def _within(field: str, bounds: Bounds, where: str) -> ColumnElement[bool]:
    given = {name: value for name, value in bounds.model_dump().items() if value is not None}
    if not given:
        raise ValidationFailed(errors={where: ["needs at least one of gt, gte, lt, lte"]})
    tests: list[ColumnElement[bool]] = []
    for name, value in given.items():
        if field in TIMES:
            column: Any = TIMES[field]
            bound: Any = _time(value, f"{where}.{name}")
        elif field in TEXTS:
            column, bound = TEXTS[field], str(value)
        else:
            column, bound = metadata_path(field), _json(value)
        tests.append(getattr(column, OPERATORS[name])(bound))
    return and_(*tests)


def _exists(field: str) -> ColumnElement[bool]:
    if field in TIMES:
        return true()
    if field in TEXTS:
        return TEXTS[field].is_not(None)
    found = metadata_path(field)
    return and_(found.is_not(None), found != literal("null", JSONB))


def _clause(clause: Any, where: str) -> ColumnElement[bool]:
    if isinstance(clause, TermClause):
        ((field, value),) = clause.term.items()
        return _holds(field, value, f"{where}.term.{field}")
    if isinstance(clause, TermsClause):
        ((field, values),) = clause.terms.items()
        return or_(*(_holds(field, value, f"{where}.terms.{field}") for value in values))
    if isinstance(clause, RangeClause):
        ((field, bounds),) = clause.range.items()
        return _within(field, bounds, f"{where}.range.{field}")
    if isinstance(clause, ExistsClause):
        return _exists(clause.exists.field)
    assert isinstance(clause, BoolClause)
    return condition(clause.bool, f"{where}.bool")


def condition(spec: Filter, where: str = "filter") -> ColumnElement[bool]:
    """The filter as one SQL condition."""
    tests: list[ColumnElement[bool]] = []
    for index, clause in enumerate(spec.must or ()):
        tests.append(_clause(clause, f"{where}.must.{index}"))
    for index, clause in enumerate(spec.must_not or ()):
        tests.append(not_(func.coalesce(_clause(clause, f"{where}.must_not.{index}"), false())))
    if spec.should:
        matched = [
            case((_clause(clause, f"{where}.should.{index}"), 1), else_=0)
            for index, clause in enumerate(spec.should)
        ]
        needed = 1 if spec.minimum_should_match is None else spec.minimum_should_match
        tests.append(sum(matched[1:], matched[0]) >= needed)
    return and_(true(), *tests)


def sort_key(field: str, order: SortOrder, score: ColumnElement[Any]) -> list[Any]:
    """ORDER BY terms for one sort criterion; `missing` puts absent values first or last."""
    descending = (order.order or ("desc" if field == "_score" else "asc")) == "desc"
    if field == "_score":
        value: Any = score
    elif field in TIMES:
        value = TIMES[field]
    else:
        value = _sort_value(metadata_path(field), order.mode)
    term = value.desc() if descending else value.asc()
    return [term.nulls_first() if order.missing == "_first" else term.nulls_last()]


def _sort_value(found: ColumnElement[Any], mode: str | None) -> ColumnElement[Any]:
    """A metadata value to sort by; for an array, its min, max, avg, sum or median (`mode`)."""
    if mode is None:
        return found
    as_array = case(
        (func.jsonb_typeof(found) == "array", found), else_=func.jsonb_build_array(found)
    )
    element = func.jsonb_array_elements(as_array).table_valued("value").alias("element")
    value = element.c.value
    if mode in ("min", "max"):
        ordered = func.array_agg(
            aggregate_order_by(value, value.desc() if mode == "max" else value)
        )
        return select(ordered[1]).select_from(element).scalar_subquery()
    number = case(
        (func.jsonb_typeof(value) == "number", cast(value.op("#>>")(EMPTY_PATH), Double)),
        else_=None,
    )
    aggregates = {
        "avg": func.avg(number),
        "sum": func.sum(number),
        "median": func.percentile_cont(0.5).within_group(number),
    }
    return select(func.to_jsonb(aggregates[mode])).select_from(element).scalar_subquery()
