"""Interactions of users: one, of one user, in bulk; the users and items they name; the same
event sent twice; lists in order with signed cursors, time frames and types; bad input
refused whole; counters; and another database never sees them."""

import time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.utils.factories import add_to_catalog, counters, ready_database
from tests.utils.problems import assert_problem
from tests.utils.sql import scalar, schema_of

BULK = "/v1/interactions-bulk/"


async def interact(
    client: httpx.AsyncClient, key: dict[str, str], interactions: list[dict[str, Any]]
) -> httpx.Response:
    return await client.post(BULK, headers=key, json={"interactions": interactions})


async def listed(
    client: httpx.AsyncClient, key: dict[str, str], path: str = BULK, **params: Any
) -> dict[str, Any]:
    response = await client.get(path, headers=key, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def every_page(
    client: httpx.AsyncClient, key: dict[str, str], path: str, **params: Any
) -> list[dict[str, Any]]:
    """Every row of a list, following its cursors."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await listed(client, key, path, **params, **({"cursor": cursor} if cursor else {}))
        rows += page["interactions"]
        if not page["has_next"]:
            assert page["next_cursor"] is None
            return rows
        cursor = page["next_cursor"]


async def stored(engine: AsyncEngine, client: httpx.AsyncClient, key: dict[str, str]) -> int:
    """count(*) of the caller's interactions, and its counter agrees."""
    db_id = (await client.get("/v1/databases/current/", headers=key)).json()["id"]
    schema = await schema_of(engine, db_id)
    rows = int(await scalar(engine, f'SELECT count(*) FROM "{schema}".interactions'))
    counted = await scalar(
        engine,
        f"SELECT coalesce(sum(value), 0) FROM \"{schema}\".counters WHERE name = 'interaction'",
    )
    assert int(counted) == rows
    return rows


async def catalog(
    client: httpx.AsyncClient, users: list[Any], items: list[Any], **id_types: str
) -> dict[str, str]:
    key = await ready_database(client, **id_types)
    await add_to_catalog(client, key, "user", users)
    await add_to_catalog(client, key, "item", items)
    return key


class TestOneInteraction:
    async def test_create_and_list(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        item = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
        key = await catalog(client, [7], [item], item_id_type="uuid")
        body = {"interaction_type": "productView", "timestamp": 1.5, "properties": {"price": 3}}
        response = await client.post(f"/v1/users/7/interactions/{item}/", headers=key, json=body)
        assert response.status_code == 201, response.text
        assert response.json() == {"warnings": []}
        expected = {
            "item_id": item.lower(),
            "interaction_type": "productView",
            "timestamp": 1.5,
            "properties": {"price": 3},
        }
        mine = await listed(client, key, "/v1/users/7/interactions-bulk/")
        assert mine == {"interactions": [expected], "has_next": False, "next_cursor": None}
        everything = await listed(client, key)
        assert everything["interactions"] == [{"user_id": 7, **expected}]
        assert await stored(engine, client, key) == 1
        assert await counters(client, key) == {"rating": 0, "user": 1, "item": 1}

    async def test_the_same_event_is_kept_once(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await catalog(client, [1], [1])
        path = "/v1/users/1/interactions/1/"
        first = {"interaction_type": "view", "timestamp": 5, "properties": {"n": 1}}
        assert (await client.post(path, headers=key, json=first)).status_code == 201
        again = {**first, "properties": {"n": 2}}
        assert (await client.post(path, headers=key, json=again)).status_code == 201
        later = {**first, "timestamp": 6}
        assert (await client.post(path, headers=key, json=later)).status_code == 201
        other_type = {**first, "interaction_type": "purchase"}
        assert (await client.post(path, headers=key, json=other_type)).status_code == 201
        rows = (await listed(client, key, "/v1/users/1/interactions-bulk/"))["interactions"]
        assert [(r["interaction_type"], r["timestamp"], r["properties"]) for r in rows] == [
            ("purchase", 5.0, {"n": 1}),
            ("view", 5.0, {"n": 2}),
            ("view", 6.0, {"n": 1}),
        ]
        assert await stored(engine, client, key) == 3

    async def test_timestamp_defaults_to_now(self, client: httpx.AsyncClient) -> None:
        key = await catalog(client, [1], [1])
        before = time.time()
        body = {"interaction_type": "view"}
        response = await client.post("/v1/users/1/interactions/1/", headers=key, json=body)
        assert response.status_code == 201
        (row,) = (await listed(client, key))["interactions"]
        assert before <= row["timestamp"] <= time.time()
        assert row["properties"] == {}

    async def test_missing_user_or_item_is_404_naming_it(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await catalog(client, [2], [1])
        body = {"interaction_type": "view"}
        problem = assert_problem(
            await client.post("/v1/users/9/interactions/1/", headers=key, json=body),
            404,
            "USER_NOT_FOUND",
        )
        assert problem["error_data"] == {"name": "USER_NOT_FOUND", "type": "user", "key": 9}
        problem = assert_problem(
            await client.post("/v1/users/2/interactions/8/", headers=key, json=body),
            404,
            "ITEM_NOT_FOUND",
        )
        assert problem["error_data"]["key"] == 8
        missing = await client.get("/v1/users/9/interactions-bulk/", headers=key)
        assert_problem(missing, 404, "USER_NOT_FOUND")
        assert await stored(engine, client, key) == 0

    async def test_bad_requests_name_the_field(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await catalog(client, [1], ["ab"], item_id_type="hex8")
        view = {"interaction_type": "view"}
        cases = [
            ("/v1/users/1/interactions/abc/", view, "item_id"),
            ("/v1/users/x/interactions/ab/", view, "user_id"),
            ("/v1/users/1/interactions/ab/", {}, "interaction_type"),
            ("/v1/users/1/interactions/ab/", {"interaction_type": ""}, "interaction_type"),
            ("/v1/users/1/interactions/ab/", {"interaction_type": "v" * 65}, "interaction_type"),
            ("/v1/users/1/interactions/ab/", {"interaction_type": "a\u0000b"}, "interaction_type"),
            ("/v1/users/1/interactions/ab/", {"interaction_type": 3}, "interaction_type"),
            ("/v1/users/1/interactions/ab/", {**view, "timestamp": -1}, "timestamp"),
            ("/v1/users/1/interactions/ab/", {**view, "properties": [1]}, "properties"),
            (
                "/v1/users/1/interactions/ab/",
                {**view, "properties": {str(n): n for n in range(101)}},
                "properties",
            ),
            ("/v1/users/1/interactions/ab/", {**view, "rating": 3}, "rating"),
        ]
        for path, body, field in cases:
            response = await client.post(path, headers=key, json=body)
            problem = assert_problem(response, 400, "VALIDATION_ERROR")
            assert list(problem["errors"]) == [field], (body, problem["errors"])
        assert await stored(engine, client, key) == 0

    async def test_a_nul_in_properties_is_refused(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await catalog(client, [1], [1])
        body = {"interaction_type": "view", "properties": {"note": "a\u0000b"}}
        response = await client.post("/v1/users/1/interactions/1/", headers=key, json=body)
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert await stored(engine, client, key) == 0


class TestBulk:
    async def test_many_users_in_one_call(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        users, items = ["AAAAAA", "AAAAAQ"], ["a", "b", "c"]
        key = await catalog(client, users, items, item_id_type="urlsafe8", user_id_type="bytes4")
        rows = [
            {"user_id": u, "item_id": i, "interaction_type": "view", "timestamp": 10 + n}
            for n, (u, i) in enumerate((u, i) for u in users for i in items)
        ]
        rows.append({**rows[0], "properties": {"last": True}})  # the same event: the last wins
        response = await interact(client, key, rows)
        assert response.status_code == 201, response.text
        assert response.json() == {"warnings": []}
        assert await stored(engine, client, key) == 6
        shown = (await listed(client, key))["interactions"]
        assert [(r["user_id"], r["item_id"]) for r in shown] == [
            (u, i) for u in users for i in items
        ]
        assert shown[0]["properties"] == {"last": True}
        assert (await interact(client, key, [])).status_code == 201

    async def test_missing_users_or_items_refuse_the_whole_call(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await catalog(client, [1], [1, 2])
        rows = [
            {"user_id": 1, "item_id": 1, "interaction_type": "view"},
            {"user_id": 1, "item_id": 3, "interaction_type": "view"},
            {"user_id": 4, "item_id": 2, "interaction_type": "view"},
            {"user_id": 5, "item_id": 3, "interaction_type": "view"},
        ]
        problem = assert_problem(await interact(client, key, rows), 404, "USERS_OR_ITEMS_NOT_FOUND")
        assert problem["error_data"]["users"] == [4, 5]
        assert problem["error_data"]["items"] == [3]
        assert await stored(engine, client, key) == 0

    async def test_wrong_rows_are_named_and_nothing_is_written(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await catalog(client, [1], ["00000000000000000000000000000000"], item_id_type="uuid")
        good = {"user_id": 1, "item_id": "00000000000000000000000000000000"}
        rows = [
            {**good, "interaction_type": "view"},
            {"user_id": 1, "item_id": "nope", "interaction_type": "view"},
            {**good, "user_id": -1, "interaction_type": "view"},
        ]
        problem = assert_problem(await interact(client, key, rows), 400, "VALIDATION_ERROR")
        assert set(problem["errors"]) == {"interactions.1.item_id", "interactions.2.user_id"}
        schema_first = [*rows, {**good, "interaction_type": ""}]
        problem = assert_problem(await interact(client, key, schema_first), 400, "VALIDATION_ERROR")
        assert set(problem["errors"]) == {"interactions.3.interaction_type"}
        assert await stored(engine, client, key) == 0

    async def test_at_most_20000_per_call(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await catalog(client, [1], [1])
        row = {"user_id": 1, "item_id": 1, "interaction_type": "view"}
        too_many = [{**row, "timestamp": n} for n in range(20_001)]
        problem = assert_problem(await interact(client, key, too_many), 400, "VALIDATION_ERROR")
        assert list(problem["errors"]) == ["interactions"]
        started = time.perf_counter()
        response = await interact(client, key, too_many[:20_000])
        assert response.status_code == 201, response.text
        assert time.perf_counter() - started < 20
        assert await stored(engine, client, key) == 20_000
        page = await listed(client, key, amt=5000)
        assert len(page["interactions"]) == 5000
        assert page["interactions"][-1]["timestamp"] == 4999.0

    async def test_of_one_user(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        key = await catalog(client, [1, 2], [1, 2])
        rows = [
            {"item_id": 2, "interaction_type": "purchase", "timestamp": 3},
            {"item_id": 1, "interaction_type": "view", "timestamp": 1},
            {"item_id": 2, "interaction_type": "view", "timestamp": 2},
        ]
        path = "/v1/users/1/interactions-bulk/"
        response = await client.post(path, headers=key, json={"interactions": rows})
        assert response.status_code == 201, response.text
        mine = (await listed(client, key, path))["interactions"]
        assert [(r["item_id"], r["timestamp"]) for r in mine] == [(1, 1.0), (2, 2.0), (2, 3.0)]
        views = await listed(client, key, path, interaction_types=["view"])
        assert [r["interaction_type"] for r in views["interactions"]] == ["view", "view"]
        both = await listed(client, key, path, interaction_types=["view", "purchase"])
        assert len(both["interactions"]) == 3
        assert (await listed(client, key, "/v1/users/2/interactions-bulk/"))["interactions"] == []
        missing_item = [{"item_id": 9, "interaction_type": "view"}]
        response = await client.post(path, headers=key, json={"interactions": missing_item})
        assert_problem(response, 404, "USERS_OR_ITEMS_NOT_FOUND")
        nobody = await client.post(
            "/v1/users/3/interactions-bulk/", headers=key, json={"interactions": rows}
        )
        assert_problem(nobody, 404, "USER_NOT_FOUND")
        assert await stored(engine, client, key) == 3


class TestLists:
    async def test_cursors_walk_every_row_once(self, client: httpx.AsyncClient) -> None:
        key = await catalog(client, [1, 2, 3], [1, 2])
        rows = [
            {"user_id": u, "item_id": i, "interaction_type": t, "timestamp": s}
            for u in (1, 2, 3)
            for i in (1, 2)
            for t in ("a", "b")
            for s in (1.25, 2)
        ]
        assert (await interact(client, key, rows)).status_code == 201
        walked = await every_page(client, key, BULK, amt=3)
        assert len(walked) == len(rows)
        order = [
            (r["user_id"], r["timestamp"], r["item_id"], r["interaction_type"]) for r in walked
        ]
        assert order == sorted(order)
        mine = await every_page(client, key, "/v1/users/2/interactions-bulk/", amt=2)
        assert len(mine) == 8
        assert {r["timestamp"] for r in mine} == {1.25, 2.0}

    async def test_time_frames(self, client: httpx.AsyncClient) -> None:
        key = await catalog(client, [1], [1])
        rows = [
            {"user_id": 1, "item_id": 1, "interaction_type": "v", "timestamp": s} for s in range(10)
        ]
        assert (await interact(client, key, rows)).status_code == 201
        framed = await every_page(client, key, BULK, start_timestamp=3, end_timestamp=7, amt=2)
        assert [r["timestamp"] for r in framed] == [3.0, 4.0, 5.0, 6.0]
        after = await listed(client, key, start_timestamp=8.5)
        assert [r["timestamp"] for r in after["interactions"]] == [9.0]
        for start, end in ((5, 5), (6, 2)):
            response = await client.get(
                BULK, headers=key, params={"start_timestamp": start, "end_timestamp": end}
            )
            problem = assert_problem(response, 400, "VALIDATION_ERROR")
            assert set(problem["errors"]) == {"start_timestamp", "end_timestamp"}

    async def test_bad_parameters_and_cursors(self, client: httpx.AsyncClient) -> None:
        key = await catalog(client, [1, 2], [1])
        rows = [
            {"user_id": u, "item_id": 1, "interaction_type": "v", "timestamp": s}
            for u in (1, 2)
            for s in range(3)
        ]
        assert (await interact(client, key, rows)).status_code == 201
        cases: list[tuple[str, dict[str, Any], str]] = [
            (BULK, {"amt": 0}, "amt"),
            (BULK, {"amt": 5001}, "amt"),
            (BULK, {"start_timestamp": -1}, "start_timestamp"),
            (BULK, {"end_timestamp": "soon"}, "end_timestamp"),
            (BULK, {"filters": "x"}, "filters"),
            (BULK, {"interaction_types": "v"}, "interaction_types"),
            ("/v1/users/1/interactions-bulk/", {"start_timestamp": 1}, "start_timestamp"),
            (
                "/v1/users/1/interactions-bulk/",
                {"interaction_types": "a\tb"},
                "interaction_types.0",
            ),
        ]
        for path, params, field in cases:
            response = await client.get(path, headers=key, params=params)
            problem = assert_problem(response, 400, "VALIDATION_ERROR")
            assert list(problem["errors"]) == [field], (params, problem["errors"])

        first = await listed(client, key, amt=1)
        cursor = first["next_cursor"]
        mine = await listed(client, key, "/v1/users/1/interactions-bulk/", amt=1)
        for path, bad in (
            (BULK, cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")),
            (BULK, "not a cursor"),
            (BULK, mine["next_cursor"]),  # another list's
            ("/v1/users/1/interactions-bulk/", cursor),
            ("/v1/users/2/interactions-bulk/", mine["next_cursor"]),  # another user's
            ("/v1/ratings-bulk/", cursor),
        ):
            response = await client.get(path, headers=key, params={"cursor": bad})
            assert_problem(response, 400, "INVALID_CURSOR")


class TestAroundTheCatalog:
    async def test_interactions_are_not_ratings_and_outlive_properties(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await catalog(client, [1], [1])
        body = {"interaction_type": "purchase", "timestamp": 1}
        assert (
            await client.post("/v1/users/1/interactions/1/", headers=key, json=body)
        ).status_code == 201
        assert (await listed(client, key, "/v1/ratings-bulk/"))["ratings"] == []
        assert (await client.delete("/v1/items/1/", headers=key)).status_code == 204
        assert len((await listed(client, key))["interactions"]) == 1
        assert await stored(engine, client, key) == 1


class TestAccess:
    async def test_frontend_reads_only_and_the_template_has_none(
        self, client: httpx.AsyncClient
    ) -> None:
        key = await ready_database(client, role="frontend")
        body = {"interaction_type": "view"}
        response = await client.post("/v1/users/1/interactions/1/", headers=key, json=body)
        assert response.status_code == 403
        assert (await listed(client, key))["interactions"] == []
        anonymous = await client.get(BULK)
        assert anonymous.status_code == 401
        assert (await client.post(BULK, json={"interactions": []})).status_code in (401, 403)


class TestIsolation:
    async def test_another_database_never_sees_them(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        mine, theirs = await catalog(client, [1], [1]), await catalog(client, [1], [1])
        rows = [{"user_id": 1, "item_id": 1, "interaction_type": "v", "timestamp": 1}]
        assert (await interact(client, mine, rows)).status_code == 201
        assert (await listed(client, theirs))["interactions"] == []
        theirs_of_user = await listed(client, theirs, "/v1/users/1/interactions-bulk/")
        assert theirs_of_user["interactions"] == []
        page = await listed(client, mine, amt=1)
        assert page["has_next"] is False
        assert await stored(engine, client, theirs) == 0
        assert await stored(engine, client, mine) == 1
        more = [{**rows[0], "timestamp": 2}, {**rows[0], "timestamp": 3}]
        assert (await interact(client, mine, more)).status_code == 201
        cursor = (await listed(client, mine, amt=1))["next_cursor"]
        response = await client.get(BULK, headers=theirs, params={"cursor": cursor})
        assert_problem(response, 400, "INVALID_CURSOR")
