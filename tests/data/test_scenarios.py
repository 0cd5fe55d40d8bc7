"""Scenarios over HTTP (create, replace, read, list, delete, defaults, every refusal a
problem that changed nothing) and their resolution to a case's rules: A/B splits, conditions
on users and items, aliases, the default, and what a recommendation answer shows of it."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.data.flexible_ids import codec
from tenantry.data.recommendations.filters import check_filters
from tenantry.data.recommendations.scenarios import service
from tenantry.data.recommendations.scenarios.service import Resolved, merged
from tenantry.db.sessions import TenantSession, tenant_session
from tenantry.errors import NotFound
from tests.utils.factories import ready_database
from tests.utils.problems import assert_problem

USERS = codec("uint32")
P2I = "profile_to_items"


def case(**rules: Any) -> dict[str, Any]:
    return {"scenario_type": "case", "case": rules}


def ab_test(a: str, b: str, test_id: str = "split") -> dict[str, Any]:
    return {
        "scenario_type": "ab_test",
        "ab_test": {"id": test_id, "scenario_a": a, "scenario_b": b},
    }


def alias(to: str) -> dict[str, Any]:
    return {"scenario_type": "alias", "alias": {"to": to}}


def condition(kind: str, test: dict[str, Any], then: str, otherwise: str) -> dict[str, Any]:
    body = {"condition_type": kind, "if": test, "then": then, "else": otherwise}
    return {"scenario_type": "condition", "condition": body}


async def shop(client: httpx.AsyncClient) -> dict[str, str]:
    """A database whose items have a price, tags and a year, and whose users an age."""
    key = await ready_database(client)
    declared = {
        "items": [
            ("price", "float32", False),
            ("tags", "unicode16", True),
            ("year", "uint16", False),
        ],
        "users": [("age", "uint8", False)],
    }
    for kind, properties in declared.items():
        for name, value_type, repeated in properties:
            body = {"property_name": name, "value_type": value_type, "repeated": repeated}
            response = await client.post(f"/v1/{kind}-properties/", headers=key, json=body)
            assert response.status_code == 201, response.text
    return key


async def put(
    client: httpx.AsyncClient, key: dict[str, str], name: str, body: Any, kind: str = P2I
) -> httpx.Response:
    return await client.put(f"/v1/scenarios/{kind}/{name}/", headers=key, json=body)


async def put_ok(
    client: httpx.AsyncClient, key: dict[str, str], name: str, body: Any, kind: str = P2I
) -> dict[str, Any]:
    response = await put(client, key, name, body, kind)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def listed(client: httpx.AsyncClient, key: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/scenarios/", headers=key)
    assert response.status_code == 200
    scenarios: list[dict[str, Any]] = response.json()["scenarios"]
    return scenarios


@asynccontextmanager
async def database_session(
    client: httpx.AsyncClient, engine: AsyncEngine, key: dict[str, str]
) -> AsyncIterator[TenantSession]:
    """A session in the schema of the key's database."""
    db_id = (await client.get("/v1/databases/current/", headers=key)).json()["id"]
    async with engine.connect() as connection:
        query = text("SELECT schema_name FROM tenantry.databases WHERE id = :id")
        schema = (await connection.execute(query, {"id": db_id})).scalar_one()
    async with tenant_session(engine, schema) as session:
        yield session


Resolve = Callable[..., Any]


class TestWrites:
    async def test_create_get_list_replace_delete(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        rules = {
            "filters": ["price:lte:10", {"property_name": "tags", "op": "EQ", "value": "new"}],
            "reranking": ["tags:diversity:0.5"],
            "exclude_rated_items": True,
            "amt": 12,
        }
        assert await put_ok(client, key, "home", case(**rules)) == {"warnings": []}
        stored = case(
            filters=[
                {"property_name": "price", "op": "lte", "value": 10},
                {"property_name": "tags", "op": "eq", "value": "new"},
            ],
            reranking=[{"property_name": "tags", "op": "diversity", "weight": 0.5}],
            exclude_rated_items=True,
            amt=12,
        )
        got = await client.get(f"/v1/scenarios/{P2I}/home/", headers=key)
        assert got.json() == {"name": "home", "reco_type": P2I, "scenario": stored}
        await put_ok(client, key, "page", case(), kind="item_to_items")
        assert [(s["reco_type"], s["name"]) for s in await listed(client, key)] == [
            ("item_to_items", "page"),
            (P2I, "home"),
        ]
        await put_ok(client, key, "home", case(amt=3))
        got = await client.get(f"/v1/scenarios/{P2I}/home/", headers=key)
        assert got.json()["scenario"] == case(amt=3, filters=[], reranking=[])
        assert (await client.delete(f"/v1/scenarios/{P2I}/home/", headers=key)).status_code == 204
        gone = await client.get(f"/v1/scenarios/{P2I}/home/", headers=key)
        body = assert_problem(gone, 404, "SCENARIO_NOT_FOUND")
        assert body["error_data"] == {
            "name": "SCENARIO_NOT_FOUND",
            "type": "scenario",
            "key": "home",
        }
        again = await client.delete(f"/v1/scenarios/{P2I}/home/", headers=key)
        assert_problem(again, 404, "SCENARIO_NOT_FOUND")

    async def test_kept_but_not_applied(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        body = case(algorithms="a|b", candidates_preselection={"method": "x"})
        warnings = (await put_ok(client, key, "algo", body))["warnings"]
        assert [w.split()[0] for w in warnings] == ["algorithms", "candidates_preselection"]

    async def test_references_must_exist_and_make_no_cycle(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        missing = await put(client, key, "ab", ab_test("one", "two"))
        assert assert_problem(missing, 404, "SCENARIO_NOT_FOUND")["error_data"]["key"] == "one"
        await put_ok(client, key, "one", case())
        await put_ok(client, key, "two", case(), kind="item_to_items")
        other_kind = await put(client, key, "ab", ab_test("one", "two"))
        assert assert_problem(other_kind, 404, "SCENARIO_NOT_FOUND")["error_data"]["key"] == "two"
        await put_ok(client, key, "two", case())
        await put_ok(client, key, "ab", ab_test("one", "two"))
        await put_ok(client, key, "front", alias("ab"))
        cycle = await put(client, key, "one", alias("front"))
        body = assert_problem(cycle, 400, "VALIDATION_ERROR")
        assert body["errors"] == {
            "scenario.alias": ["It would make a cycle: one -> front -> ab -> one."]
        }
        itself = await put(client, key, "front", alias("front"))
        assert assert_problem(itself, 400, "VALIDATION_ERROR")["errors"]["scenario.alias"]
        got = await client.get(f"/v1/scenarios/{P2I}/one/", headers=key)
        assert got.json()["scenario"]["scenario_type"] == "case"

    async def test_a_scenario_in_use_is_not_deleted(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        for name in ("a", "b"):
            await put_ok(client, key, name, case())
        await put_ok(client, key, "ab", ab_test("a", "b"))
        refused = await client.delete(f"/v1/scenarios/{P2I}/a/", headers=key)
        body = assert_problem(refused, 409, "SCENARIO_IN_USE")
        assert body["error_data"] == {
            "name": "SCENARIO_IN_USE",
            "type": "scenario",
            "key": "a",
            "referenced_by": ["ab"],
        }
        default = {"name": "ab"}
        assert (
            await client.patch(f"/v1/scenarios-default/{P2I}/", headers=key, json=default)
        ).status_code == 204
        as_default = await client.delete(f"/v1/scenarios/{P2I}/ab/", headers=key)
        assert "default" in assert_problem(as_default, 409, "SCENARIO_IN_USE")["detail"]
        assert len(await listed(client, key)) == 3

    async def test_defaults(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        path = f"/v1/scenarios-default/{P2I}/"
        none = await client.get(path, headers=key)
        assert assert_problem(none, 404, "DEFAULT_SCENARIO_NOT_FOUND")["error_data"]["key"] == P2I
        missing = await client.patch(path, headers=key, json={"name": "home"})
        assert_problem(missing, 404, "SCENARIO_NOT_FOUND")
        await put_ok(client, key, "home", case())
        await put_ok(client, key, "away", case())
        for name in ("home", "away"):
            assert (await client.patch(path, headers=key, json={"name": name})).status_code == 204
        assert (await client.get(path, headers=key)).json() == {"name": "away"}
        other = await client.get("/v1/scenarios-default/item_to_items/", headers=key)
        assert_problem(other, 404, "DEFAULT_SCENARIO_NOT_FOUND")
        assert (await client.delete(path, headers=key)).status_code == 204
        assert_problem(await client.delete(path, headers=key), 404, "DEFAULT_SCENARIO_NOT_FOUND")
        assert (await client.delete(f"/v1/scenarios/{P2I}/away/", headers=key)).status_code == 204

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (case(filters=["colour:eq:red"]), "scenario.case.filters.0"),
            (case(filters=["price:eq:3"]), "scenario.case.filters.0"),
            (case(filters=["price:gt:x", "tags:nope"]), "scenario.case.filters.1"),
            (case(filters=["year:notempty"] * 11), "case.filters"),
            (case(reranking=["price:diversity:-1"]), "scenario.case.reranking.0"),
            (case(reranking=["colour:diversity"]), "scenario.case.reranking.0"),
            (case(reranking=["tags:boost"]), "scenario.case.reranking.0"),
            (case(amt=65), "case.amt"),
            (case(amt=0), "case.amt"),
            (case(colour=1), "case.colour"),
            ({"scenario_type": "case"}, "body"),
            ({"scenario_type": "case", "case": {}, "alias": {"to": "x"}}, "body"),
            ({"scenario_type": "loop", "case": {}}, "scenario_type"),
            (ab_test("a", "b c"), "ab_test.scenario_b"),
            (alias(""), "alias.to"),
            (
                condition(
                    "user_function", {"function_name": "n_x", "op": "lt", "value": 1}, "a", "b"
                ),
                "scenario.condition.if.function_name",
            ),
            (
                condition(
                    "user_function",
                    {"function_name": "n_ratings", "op": "lt", "value": -1},
                    "a",
                    "b",
                ),
                "scenario.condition.if.value",
            ),
            (
                condition(
                    "user_property", {"property_name": "age", "op": "eq", "value": "old"}, "a", "b"
                ),
                "scenario.condition.if",
            ),
            (
                condition(
                    "user_property", {"property_name": "price", "op": "gt", "value": 1}, "a", "b"
                ),
                "scenario.condition.if",
            ),
            (condition("user_property", "age:gt:3", "a", "b"), "condition.if"),
            (
                condition(
                    "item_property", {"property_name": "year", "op": "gt", "value": 1}, "a", "b"
                ),
                "scenario.condition.condition_type",
            ),
            (condition("weather", {}, "a", "b"), "condition.condition_type"),
        ],
    )
    async def test_refused(self, client: httpx.AsyncClient, body: Any, field: str) -> None:
        key = await shop(client)
        for name in ("a", "b"):
            await put_ok(client, key, name, case())
        response = await put(client, key, "bad", body)
        assert field in assert_problem(response, 400, "VALIDATION_ERROR")["errors"]
        assert len(await listed(client, key)) == 2

    async def test_what_each_kind_takes(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        item_rule = case(exclude_rated_items=True)
        refused = await put(client, key, "x", item_rule, kind="item_to_items")
        errors = assert_problem(refused, 400, "VALIDATION_ERROR")["errors"]
        assert list(errors) == ["scenario.case.exclude_rated_items"]
        await put_ok(client, key, "x", item_rule, kind="session_to_items")
        unknown = await put(client, key, "x", case(), kind="users_to_nowhere")
        assert list(assert_problem(unknown, 400, "VALIDATION_ERROR")["errors"]) == ["reco_type"]
        bad_name = await client.get(f"/v1/scenarios/{P2I}/a.b/", headers=key)
        assert list(assert_problem(bad_name, 400, "VALIDATION_ERROR")["errors"]) == ["name"]

    async def test_frontend_keys_read_only(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, role="frontend")
        assert_problem(await put(client, key, "x", case()), 403, "ROLE_FORBIDDEN")
        assert await listed(client, key) == []
        anonymous = await client.get("/v1/scenarios/")
        assert anonymous.status_code == 401


class TestResolution:
    async def test_none_applies(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        key = await shop(client)
        async with database_session(client, engine, key) as session:
            assert await service.resolve(session, P2I, None, False, None) is None
            with pytest.raises(NotFound):
                await service.resolve(session, P2I, "nope", False, None)

    async def test_a_case_named_or_by_default(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await shop(client)
        await put_ok(
            client,
            key,
            "home",
            case(
                filters=["price:lt:5"],
                reranking=["tags:diversity"],
                exclude_rated_items=False,
                amt=7,
            ),
        )
        await put_ok(client, key, "other", case(amt=2))
        await client.patch(f"/v1/scenarios-default/{P2I}/", headers=key, json={"name": "home"})
        async with database_session(client, engine, key) as session:
            by_default = await service.resolve(session, P2I, None, False, b"u")
            assert by_default is not None
            assert by_default.amt == 7
            assert by_default.exclude_rated_items is False
            assert [f.as_json() for f in await check_filters(session, by_default.filters)] == [
                {"property_name": "price", "op": "lt", "value": 5}
            ]
            assert by_default.filters[0].field == "scenarios.home.filters.0"
            assert [r.op for r in by_default.reranking] == ["diversity"]
            assert by_default.evaluated == ["home"]
            assert by_default.evaluated_scenarios() == {
                "default": [{"scenario_type": "case", "scenario_name": "home"}]
            }
            assert await service.resolve(session, P2I, None, True, b"u") is None
            named = await service.resolve(session, P2I, "other", False, b"u")
            assert named is not None
            assert named.evaluated_scenarios() == {
                "runtime": [{"scenario_type": "case", "scenario_name": "other"}]
            }
            assert await service.resolve(session, "item_to_items", None, False, b"u") is None

    async def test_ab_test_is_half_and_half_and_stable(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await shop(client)
        await put_ok(client, key, "a", case(amt=1))
        await put_ok(client, key, "b", case(amt=2))
        await put_ok(client, key, "ab", ab_test("a", "b"))
        await put_ok(client, key, "front", alias("ab"))
        async with database_session(client, engine, key) as session:
            groups = []
            for n in range(200):
                first = await service.resolve(session, P2I, "front", False, USERS.encode(n))
                again = await service.resolve(session, P2I, "front", False, USERS.encode(n))
                assert first is not None
                assert again == first
                groups.append(first.amt)
            assert 70 < groups.count(1) < 130
            resolved = await service.resolve(session, P2I, "front", False, USERS.encode(0))
            assert resolved is not None
            chosen = resolved.evaluated[-1]
            assert resolved.evaluated_scenarios() == {
                "runtime": [
                    {"scenario_type": "alias", "scenario_name": "front", "to": "ab"},
                    {"scenario_type": "ab_test", "scenario_name": "ab", "to": chosen},
                    {"scenario_type": "case", "scenario_name": chosen},
                ]
            }
            nobody = await service.resolve(session, P2I, "ab", False, None)
            assert nobody is not None
            assert nobody.evaluated[-1] == "a"

    async def test_conditions(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        key = await shop(client)
        users = [{"user_id": 1, "age": 15}, {"user_id": 2, "age": 40}, {"user_id": 3}]
        await client.put("/v1/users-bulk/properties/", headers=key, json={"users": users})
        items = [{"item_id": n, "year": 1990 + n} for n in range(1, 4)]
        await client.put("/v1/items-bulk/properties/", headers=key, json={"items": items})
        ratings = [{"user_id": 2, "item_id": n, "rating": 5, "timestamp": n} for n in (1, 2, 3)]
        assert (
            await client.put("/v1/ratings-bulk/", headers=key, json={"ratings": ratings})
        ).status_code == 204
        for name in ("young", "old", "new", "classic"):
            await put_ok(client, key, name, case())
            await put_ok(client, key, name, case(), kind="item_to_items")
        minor = {"property_name": "age", "op": "lt", "value": 18}
        await put_ok(client, key, "by_age", condition("user_property", minor, "young", "old"))
        rated = {"function_name": "n_ratings", "op": "gte", "value": 3}
        await put_ok(client, key, "by_ratings", condition("user_function", rated, "old", "new"))
        recent = {"property_name": "year", "op": "gte", "value": 1992}
        await put_ok(
            client,
            key,
            "by_year",
            condition("item_property", recent, "new", "classic"),
            kind="item_to_items",
        )
        got = await client.get(f"/v1/scenarios/{P2I}/by_age/", headers=key)
        assert got.json()["scenario"]["condition"]["if"] == minor

        async with database_session(client, engine, key) as session:

            async def leads(
                kind: str, name: str, subject: bytes | None, item: bytes | None = None
            ) -> str:
                resolved = await service.resolve(session, kind, name, False, subject, item=item)
                assert resolved is not None
                return resolved.evaluated[-1]

            assert [await leads(P2I, "by_age", USERS.encode(n)) for n in (1, 2, 3)] == [
                "young",
                "old",
                "old",
            ]
            assert await leads(P2I, "by_age", None) == "old"
            assert [await leads(P2I, "by_ratings", USERS.encode(n)) for n in (1, 2)] == [
                "new",
                "old",
            ]
            years = [
                await leads("item_to_items", "by_year", None, USERS.encode(n)) for n in (1, 2, 3)
            ]
            assert years == ["classic", "new", "new"]

    def test_merged(self) -> None:
        assert (
            merged(
                None, filters=[], reranking=[], exclude_rated_items=None, amt=None
            ).exclude_rated_items
            is False
        )
        resolved = Resolved([], [], True, 8, ())
        rules = merged(resolved, filters=[], reranking=[], exclude_rated_items=None, amt=None)
        assert (rules.exclude_rated_items, rules.amt) == (True, 8)
        rules = merged(resolved, filters=[], reranking=[], exclude_rated_items=False, amt=3)
        assert (rules.exclude_rated_items, rules.amt) == (False, 3)
