"""Item-property filters: the two forms read the same, values typed by the declarations,
every string either read or refused with a 400 naming it, and the predicates evaluated by
PostgreSQL over items of every value type, repeated ones included."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.data.catalog import repository
from tenantry.data.catalog.service import ITEMS, USERS
from tenantry.data.flexible_ids import codec
from tenantry.data.recommendations.filters import (
    MAX_FILTERS,
    Declaration,
    Filter,
    check_filters,
    matching,
    parse_filters,
    passing,
    typed,
)
from tenantry.db.migrate import create_schema
from tenantry.db.schema_names import make
from tenantry.db.sessions import tenant_session
from tenantry.errors import ValidationFailed
from tests.utils.sql import drop_schema

IDS = codec("uint32")
REF_A, REF_B = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
DECLARED = {
    "n": Declaration("int32", False),
    "price": Declaration("float32", False),
    "ok": Declaration("bool", False),
    "title": Declaration("unicode32", False),
    "tags": Declaration("unicode16", True),
    "sizes": Declaration("uint8", True),
    "ref": Declaration("uuid", False),
    "code": Declaration("hex4", False),
    "weights": Declaration("float", True),
}
ITEMS_ROWS: dict[int, dict[str, Any]] = {
    1: {
        "n": 1,
        "price": 9.5,
        "ok": True,
        "title": "Dune messiah",
        "tags": ["scifi", "classic"],
        "sizes": [1, 2],
        "ref": REF_A,
        "code": "0a0b",
        "weights": [0.5, 2.0],
    },
    2: {
        "n": 2,
        "price": 20,
        "ok": False,
        "title": "Emma",
        "tags": ["romance"],
        "sizes": [3],
        "ref": REF_B,
        "code": "ffff",
        "weights": [1.5],
    },
    3: {"n": -3, "title": "The Hobbit, or there and back", "tags": [], "sizes": []},
    4: {},
}
ABSENT = 5  # a candidate with no row: no properties at all
CANDIDATES = [IDS.encode(n) for n in (*ITEMS_ROWS, ABSENT)]


@pytest.fixture(scope="module")
async def schema(engine: AsyncEngine) -> AsyncIterator[str]:
    """A database schema holding ITEMS_ROWS, their properties declared as DECLARED."""
    name = make("filters")
    await create_schema(engine, name, kind="database")
    async with tenant_session(engine, name) as session:
        for kind in (ITEMS, USERS):
            for prop, declaration in DECLARED.items():
                values = {"property_name": prop, "value_type": declaration.value_type}
                await repository.declare(
                    session, kind.declared, values | {"repeated": declaration.repeated}
                )
            keys = [IDS.encode(n) for n in ITEMS_ROWS]
            await repository.upsert(session, kind.table, keys, list(ITEMS_ROWS.values()))
    yield name
    await drop_schema(engine, name)


async def passed(
    engine: AsyncEngine, schema: str, raw: list[Any], *, in_scenario: bool = False
) -> set[int]:
    async with tenant_session(engine, schema) as session:
        filters = await check_filters(session, parse_filters(raw, in_scenario=in_scenario))
        found = await passing(session, filters, CANDIDATES)
    return {int(IDS.decode(key)) for key in found}


def problem_fields(error: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    assert error.value.errors is not None
    return list(error.value.errors)


class TestPredicates:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ([], {1, 2, 3, 4, 5}),
            (["n:eq:2"], {2}),
            (["n:neq:2"], {1, 3, 4, 5}),
            (["n:gt:1"], {2}),
            (["n:gte:1"], {1, 2}),
            (["n:lt:0"], {3}),
            (["n:LEQ:1"], {1, 3}),
            (["n:in:1,-3"], {1, 3}),
            (["n:notin:1,-3"], {2, 4, 5}),
            (["price:gt:10"], {2}),
            (["price:lte:9.5"], {1}),
            (["price:notempty"], {1, 2}),
            (["ok:eq:true"], {1}),
            (["ok:eq:False"], {2}),
            (["ok:neq:true"], {2, 3, 4, 5}),
            (["title:eq:Emma"], {2}),
            (["title:in:Emma,Dune messiah"], {1, 2}),
            (["tags:eq:classic"], {1}),
            (["tags:neq:classic"], {2, 3, 4, 5}),
            (["tags:in:romance,scifi"], {1, 2}),
            (["tags:notin:romance,scifi"], {3, 4, 5}),
            (["tags:notempty"], {1, 2}),
            (["sizes:gte:3"], {2}),
            (["sizes:lt:2"], {1}),
            (["sizes:eq:2"], {1}),
            (["weights:gt:1.9"], {1}),
            (["weights:lt:1"], {1}),
            ([f"ref:eq:{REF_A.upper()}"], {1}),
            ([f"ref:notin:{REF_A},{REF_B}"], {3, 4, 5}),
            (["code:eq:FFFF"], {2}),
            (["n:gte:1", "tags:notempty", "price:lt:10"], {1}),
            ([{"property_name": "n", "op": "in", "value": [2, -3]}], {2, 3}),
            ([{"property_name": "price", "op": "GEQ", "value": 3.14}], {1, 2}),
            ([{"property_name": "tags", "op": "notempty"}], {1, 2}),
            ([{"property_name": "n", "op": "eq", "value": "2"}], {2}),
        ],
    )
    async def test_filter(
        self, engine: AsyncEngine, schema: str, raw: list[Any], expected: set[int]
    ) -> None:
        assert await passed(engine, schema, raw) == expected

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (["tags:empty"], {3, 4, 5}),
            (["price:empty"], {3, 4, 5}),
            (["title:ftsearch:hobbit back"], {3}),
            (["title:ftsearch:DUNE"], {1}),
            (["tags:ftsearch:romance"], {2}),
            (["title:ftsearch:dune emma"], set()),
        ],
    )
    async def test_scenario_filter(
        self, engine: AsyncEngine, schema: str, raw: list[Any], expected: set[int]
    ) -> None:
        assert await passed(engine, schema, raw, in_scenario=True) == expected

    async def test_one_statement_for_users_too(self, engine: AsyncEngine, schema: str) -> None:
        async with tenant_session(engine, schema) as session:
            filters = await check_filters(session, parse_filters(["n:gt:0"]), USERS)
            found = await matching(session, USERS, filters, CANDIDATES)
        assert {IDS.decode(key) for key in found} == {1, 2}

    async def test_no_candidates(self, engine: AsyncEngine, schema: str) -> None:
        async with tenant_session(engine, schema) as session:
            filters = await check_filters(session, parse_filters(["n:gt:0"]))
            assert await passing(session, filters, []) == set()

    async def test_a_value_is_bound_not_written_into_the_statement(
        self, engine: AsyncEngine, schema: str
    ) -> None:
        raw = ["title:eq:'); DROP TABLE items; --", 'title:in:a",b', "title:ftsearch:' | !"]
        assert await passed(engine, schema, raw[:2]) == set()
        assert await passed(engine, schema, raw[2:], in_scenario=True) == set()
        assert await passed(engine, schema, ["n:notempty"]) == {1, 2, 3}


class TestRefused:
    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (["colour:eq:red"], "not a declared item property"),
            (["price:eq:9.5"], "floats have no equality"),
            (["price:in:1,2"], "floats have no equality"),
            (["title:gt:a"], "no gt"),
            (["ok:lt:1"], "no lt"),
            (["n:ftsearch:x"], "no ftsearch"),
            (["n:eq:two"], "Expected an integer"),
            (["n:eq:99999999999"], "Expected an integer"),
            (["sizes:eq:-1"], "Expected an integer"),
            (["price:gt:1e99"], "magnitude"),
            (["ok:eq:yes"], "Expected true or false"),
            (["ref:eq:nope"], "Not a uuid id"),
            (["title:eq:" + "x" * 33], "at most 32 characters"),
            (["title:eq:a\x00b"], "PostgreSQL can hold"),
            (["tags:in:a,\ud800"], "PostgreSQL can hold"),
            (["title:ftsearch:\x00"], "PostgreSQL can hold"),
            ([{"property_name": "n", "op": "eq", "value": 1.5}], "Expected an integer"),
        ],
    )
    def test_typing(self, raw: list[Any], message: str) -> None:
        with pytest.raises(ValidationFailed) as error:
            typed(parse_filters(raw, in_scenario=True), DECLARED)
        assert problem_fields(error) == ["filters.0"]
        assert error.value.status == 400
        assert message in " ".join(error.value.errors["filters.0"])  # type: ignore[index]

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (["n"], "is not an op"),
            (["n:"], "is not an op"),
            (["n:like:x"], "is not an op"),
            (["n:eq"], "needs a value"),
            (["n:notempty:x"], "takes no value"),
            (["n m:eq:1"], "not a property name"),
            (["title:ftsearch:x"], "for scenarios only"),
            (["tags:empty"], "for scenarios only"),
            ([3], "Expected"),
            ([{"property_name": "n", "op": "eq"}], "needs a value"),
            ([{"property_name": "n", "op": "eq", "value": [1]}], "one value"),
            ([{"property_name": "n", "op": "eq", "value": {"a": 1}}], "A value is"),
            ([{"property_name": "n", "op": "eq", "value": 1, "x": 2}], "Not a member"),
            ([{"op": "eq", "value": 1}], "are strings"),
        ],
    )
    def test_reading(self, raw: list[Any], message: str) -> None:
        with pytest.raises(ValidationFailed) as error:
            parse_filters(raw)
        assert problem_fields(error) == ["filters.0"]
        assert message in " ".join(error.value.errors["filters.0"])  # type: ignore[index]

    def test_every_bad_filter_is_named(self) -> None:
        with pytest.raises(ValidationFailed) as error:
            parse_filters(["n:eq:1", "n:nope:1", "x", "n:gt:1"], field="scenario.case.filters")
        assert problem_fields(error) == ["scenario.case.filters.1", "scenario.case.filters.2"]

    def test_at_most_ten(self) -> None:
        assert len(parse_filters(["n:notempty"] * MAX_FILTERS)) == MAX_FILTERS
        with pytest.raises(ValidationFailed):
            parse_filters(["n:notempty"] * (MAX_FILTERS + 1))

    @pytest.mark.parametrize("raw", ["n:eq:1", {"property_name": "n"}, 7])
    def test_not_a_list(self, raw: Any) -> None:
        with pytest.raises(ValidationFailed) as error:
            parse_filters(raw)
        assert problem_fields(error) == ["filters"]


class TestAnyString:
    """Whatever a client sends, a filter is read and typed, or refused with a 400."""

    @given(
        text=st.one_of(
            st.text(max_size=60),
            st.builds(
                ":".join,
                st.lists(
                    st.one_of(
                        st.sampled_from([*DECLARED, "eq", "in", "gt", "LTE", "notempty", "1"]),
                        st.text(st.characters(exclude_categories=()), max_size=8),
                    ),
                    max_size=4,
                ),
            ),
        ),
        in_scenario=st.booleans(),
    )
    def test_read_or_refused(self, text: str, in_scenario: bool) -> None:
        outcome = read_or_refused([text], in_scenario=in_scenario)
        if isinstance(outcome, ValidationFailed):
            assert outcome.status == 400
            assert list(outcome.errors or {}) == ["filters.0"]
        else:
            assert [type(one) for one in outcome] == [Filter]

    @given(
        entry=st.dictionaries(
            st.sampled_from(["property_name", "op", "value", "other"]),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner),
                max_leaves=5,
            ),
        )
    )
    def test_objects_read_or_refused(self, entry: dict[str, Any]) -> None:
        outcome = read_or_refused([entry], in_scenario=True)
        if isinstance(outcome, ValidationFailed):
            assert list(outcome.errors or {}) == ["filters.0"]


def read_or_refused(raw: list[Any], *, in_scenario: bool) -> list[Filter] | ValidationFailed:
    """The filters typed by DECLARED, or the 400 that refused them."""
    try:
        return typed(parse_filters(raw, in_scenario=in_scenario), DECLARED)
    except ValidationFailed as error:
        return error
