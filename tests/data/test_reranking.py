"""Reranking rules: the two forms read alike, every string read or refused with a 400 naming
it, and the rules reorder real items (diversity on plain and repeated properties, boost,
recency), never adding or dropping one."""

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.data.catalog import repository
from tenantry.data.catalog.service import ITEMS
from tenantry.data.flexible_ids import codec
from tenantry.data.recommendations.reranking import (
    MAX_RULES,
    Rule,
    parse_reranking,
    rerank,
)
from tenantry.db.migrate import create_schema
from tenantry.db.schema_names import make
from tenantry.db.sessions import tenant_session
from tenantry.errors import ValidationFailed
from tests.utils.sql import drop_schema

IDS = codec("uint32")
NOW = time.time()
DECLARED = {
    "genre": ("unicode16", False),
    "tags": ("unicode16", True),
    "price": ("float32", False),
    "fresh": ("bool", False),
    "released": ("float64", False),
}
ROWS: dict[int, dict[str, Any]] = {  # in the model's order: 1 scores highest
    1: {"genre": "drama", "tags": ["a", "b"], "price": 5, "released": NOW - 30 * 86400},
    2: {"genre": "drama", "tags": ["b"], "price": 50.0, "fresh": True, "released": NOW - 7200},
    3: {"genre": "drama", "tags": ["c"], "price": 10.0, "released": NOW - 86400},
    4: {"genre": "comedy", "tags": ["a"], "fresh": False},
    5: {"genre": "horror", "tags": ["d"], "price": 1.0},
    6: {},
}
CANDIDATES = [IDS.encode(n) for n in ROWS]
SCORES = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]


@pytest.fixture(scope="module")
async def schema(engine: AsyncEngine) -> AsyncIterator[str]:
    name = make("reranking")
    await create_schema(engine, name, kind="database")
    async with tenant_session(engine, name) as session:
        for prop, (value_type, repeated) in DECLARED.items():
            declaration = {"property_name": prop, "value_type": value_type, "repeated": repeated}
            await repository.declare(session, ITEMS.declared, declaration)
        await repository.upsert(session, ITEMS.table, CANDIDATES, list(ROWS.values()))
    yield name
    await drop_schema(engine, name)


async def reranked(
    engine: AsyncEngine, schema: str, raw: list[Any], limit: int | None = None
) -> list[int]:
    async with tenant_session(engine, schema) as session:
        order = await rerank(session, parse_reranking(raw), CANDIDATES, SCORES, limit=limit)
    assert sorted(order) == sorted(CANDIDATES)
    return [int(IDS.decode(key)) for key in order]


class TestReorders:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ([], [1, 2, 3, 4, 5, 6]),
            (["genre:diversity"], [1, 4, 5, 6, 2, 3]),
            (["genre:diversity:0.3"], [1, 2, 4, 5, 3, 6]),
            (["tags:diversity"], [1, 3, 5, 6, 2, 4]),
            (["price:boost"], [2, 1, 3, 4, 5, 6]),
            (["price:boost:0.1"], [1, 2, 3, 4, 5, 6]),
            (["price:boost::default_malus:1"], [2, 1, 3, 5, 4, 6]),
            (["fresh:boost:2"], [2, 1, 3, 4, 5, 6]),
            (["released:recency"], [2, 3, 1, 4, 5, 6]),
            (["released:recency:1:activation_period:3600"], [1, 2, 3, 4, 5, 6]),
            (["released:recency:1:activation_period:14400"], [2, 1, 3, 4, 5, 6]),
            (
                [{"property_name": "genre", "op": "DIVERSITY", "weight": None}],
                [1, 4, 5, 6, 2, 3],
            ),
            (
                [{"property_name": "price", "op": "boost", "options": {"default_malus": "1"}}],
                [2, 1, 3, 5, 4, 6],
            ),
            (["price:boost", "genre:diversity"], [2, 4, 5, 1, 6, 3]),
        ],
    )
    async def test_order(
        self, engine: AsyncEngine, schema: str, raw: list[Any], expected: list[int]
    ) -> None:
        assert await reranked(engine, schema, raw) == expected

    async def test_diversity_places_only_the_first_ones(
        self, engine: AsyncEngine, schema: str
    ) -> None:
        assert await reranked(engine, schema, ["genre:diversity"], limit=2) == [1, 4, 5, 6, 2, 3]
        assert await reranked(engine, schema, ["genre:diversity"], limit=1) == [1, 4, 5, 6, 2, 3]

    async def test_no_candidates(self, engine: AsyncEngine, schema: str) -> None:
        async with tenant_session(engine, schema) as session:
            assert await rerank(session, parse_reranking(["genre:diversity"]), [], []) == []

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (["colour:diversity"], "not a declared item property"),
            (["genre:boost"], "no boost"),
            (["fresh:recency"], "no recency"),
        ],
    )
    async def test_refused_by_the_declarations(
        self, engine: AsyncEngine, schema: str, raw: list[str], message: str
    ) -> None:
        with pytest.raises(ValidationFailed) as error:
            await reranked(engine, schema, raw)
        assert error.value.errors is not None
        assert message in error.value.errors["reranking.0"][0]


class TestReading:
    def test_forms(self) -> None:
        assert parse_reranking(["tags:diversity", "price:boost:0.5:default_malus:2"]) == [
            Rule("tags", "diversity", 1.0, {}, "reranking.0"),
            Rule("price", "boost", 0.5, {"default_malus": 2.0}, "reranking.1"),
        ]
        assert parse_reranking(["released:recency::activation_period:60"])[0].options == {
            "activation_period": 60.0
        }
        rule = parse_reranking([{"property_name": "tags", "op": "diversity", "weight": 0.8}])[0]
        assert rule.as_json() == {"property_name": "tags", "op": "diversity", "weight": 0.8}

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("tags", "expected"),
            ("tags:sort", "not a reranking op"),
            ("tags:diversity:0", "positive"),
            ("tags:diversity:-1", "at least 0"),
            ("tags:diversity:inf", "finite"),
            ("tags:diversity:heavy", "is a number"),
            ("tags:diversity:1:default_malus:1", "takes no option default_malus"),
            ("price:boost:1:default_malus", "pairs"),
            ("price:boost:1:activation_period:5", "takes no option activation_period"),
            ("released:recency:1:activation_period:0", "positive"),
            ("a b:diversity", "not a property name"),
            (3, "Expected"),
            ({"property_name": "tags", "op": "diversity", "weight": True}, "is a number"),
            ({"property_name": "tags", "op": "diversity", "x": 1}, "Not a member"),
            ({"property_name": "price", "op": "boost", "options": [1]}, "options is an object"),
        ],
    )
    def test_refused(self, raw: Any, message: str) -> None:
        with pytest.raises(ValidationFailed) as error:
            parse_reranking([raw])
        assert error.value.errors is not None
        assert list(error.value.errors) == ["reranking.0"]
        assert message in error.value.errors["reranking.0"][0]

    def test_at_most_ten(self) -> None:
        with pytest.raises(ValidationFailed):
            parse_reranking(["tags:diversity"] * (MAX_RULES + 1))

    @given(
        raw=st.one_of(
            st.text(max_size=40),
            st.builds(
                ":".join,
                st.lists(
                    st.one_of(
                        st.sampled_from(["tags", "diversity", "boost", "recency", "", "1"]),
                        st.sampled_from(["default_malus", "activation_period", "-1", "1e400"]),
                        st.text(max_size=6),
                    ),
                    max_size=6,
                ),
            ),
        )
    )
    def test_any_string_is_read_or_refused(self, raw: str) -> None:
        outcome = read_or_refused(raw)
        if isinstance(outcome, ValidationFailed):
            assert list(outcome.errors or {}) == ["reranking.0"]
        else:
            assert outcome[0].weight > 0


def read_or_refused(raw: str) -> list[Rule] | ValidationFailed:
    try:
        return parse_reranking([raw])
    except ValidationFailed as error:
        return error
