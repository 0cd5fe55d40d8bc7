"""Ratings: one and in bulk, missing users and items, cascades, and counters that stay
equal to count(*) through upserts and deletes, 100,000 ratings included."""

import time
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.utils.factories import add_to_catalog, counters, ready_database
from tests.utils.problems import assert_problem
from tests.utils.sql import scalar, schema_of


async def rate(
    client: httpx.AsyncClient, key: dict[str, str], ratings: list[dict[str, Any]]
) -> httpx.Response:
    return await client.put("/v1/ratings-bulk/", headers=key, json={"ratings": ratings})


async def exact_counts(
    client: httpx.AsyncClient, engine: AsyncEngine, key: dict[str, str]
) -> dict[str, int]:
    """count(*) of each table of the caller's schema."""
    db_id = (await client.get("/v1/databases/current/", headers=key)).json()["id"]
    schema = await schema_of(engine, db_id)
    return {
        counter: await scalar(engine, f'SELECT count(*) FROM "{schema}".{counter}s')
        for counter in ("rating", "user", "item")
    }


class TestOneRating:
    async def test_put_read_replace_delete(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, item_id_type="uuid", user_id_type="uint32")
        item = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
        await add_to_catalog(client, key, "item", [item])
        await add_to_catalog(client, key, "user", [7])
        path = f"/v1/users/7/ratings/{item}/"
        response = await client.put(path, headers=key, json={"rating": 4.5, "timestamp": 1.5})
        assert response.status_code == 204, response.text
        await client.put(path, headers=key, json={"rating": 9, "timestamp": 2})
        listed = (await client.get("/v1/users/7/ratings/", headers=key)).json()
        assert listed == {
            "has_next": False,
            "next_page": 2,
            "user_ratings": [{"item_id": item.lower(), "rating": 9.0, "timestamp": 2.0}],
        }
        everything = (await client.get("/v1/ratings-bulk/", headers=key)).json()
        assert everything["ratings"] == [
            {"user_id": 7, "item_id": item.lower(), "rating": 9.0, "timestamp": 2.0}
        ]
        assert await counters(client, key) == {"rating": 1, "user": 1, "item": 1}
        assert (await client.delete(path, headers=key)).status_code == 204
        assert_problem(await client.delete(path, headers=key), 404, "RATING_NOT_FOUND")
        assert (await counters(client, key))["rating"] == 0

    async def test_timestamp_defaults_to_now(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        await add_to_catalog(client, key, "item", [1])
        await add_to_catalog(client, key, "user", [1])
        before = time.time()
        await client.put("/v1/users/1/ratings/1/", headers=key, json={"rating": 1})
        rating = (await client.get("/v1/users/1/ratings/", headers=key)).json()["user_ratings"]
        assert before <= rating[0]["timestamp"] <= time.time()

    async def test_missing_user_or_item_is_404_naming_it(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        await add_to_catalog(client, key, "item", [1])
        await add_to_catalog(client, key, "user", [2])
        body = {"rating": 3}
        problem = assert_problem(
            await client.put("/v1/users/9/ratings/1/", headers=key, json=body),
            404,
            "USER_NOT_FOUND",
        )
        assert problem["error_data"] == {"name": "USER_NOT_FOUND", "type": "user", "key": 9}
        problem = assert_problem(
            await client.put("/v1/users/2/ratings/8/", headers=key, json=body),
            404,
            "ITEM_NOT_FOUND",
        )
        assert problem["message"] == "The item 8 does not exist"
        both = await client.put("/v1/users/9/ratings/8/", headers=key, json=body)
        assert_problem(both, 404, "USER_NOT_FOUND")
        assert await counters(client, key) == {"rating": 0, "user": 1, "item": 1}
        assert_problem(await client.get("/v1/users/9/ratings/", headers=key), 404, "USER_NOT_FOUND")

    async def test_bad_requests_name_the_field(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, item_id_type="hex8")
        cases = [
            ("/v1/users/1/ratings/abc/", {"rating": 3}, "item_id"),
            ("/v1/users/x/ratings/ab/", {"rating": 3}, "user_id"),
            ("/v1/users/1/ratings/ab/", {"rating": 11}, "rating"),
            ("/v1/users/1/ratings/ab/", {"rating": 3, "timestamp": -1}, "timestamp"),
            ("/v1/users/1/ratings/ab/", {}, "rating"),
        ]
        for path, body, field in cases:
            response = await client.put(path, headers=key, json=body)
            assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == [field]


class TestBulk:
    async def test_missing_users_or_items_refuse_the_whole_call(
        self, client: httpx.AsyncClient
    ) -> None:
        key = await ready_database(client)
        await add_to_catalog(client, key, "item", [1, 2])
        await add_to_catalog(client, key, "user", [1])
        ratings = [
            {"user_id": 1, "item_id": 1, "rating": 5},
            {"user_id": 1, "item_id": 3, "rating": 5},
            {"user_id": 4, "item_id": 2, "rating": 5},
            {"user_id": 5, "item_id": 3, "rating": 5},
        ]
        problem = assert_problem(await rate(client, key, ratings), 404, "USERS_OR_ITEMS_NOT_FOUND")
        assert problem["error_data"]["users"] == [4, 5]
        assert problem["error_data"]["items"] == [3]
        assert (await client.get("/v1/ratings-bulk/", headers=key)).json()["ratings"] == []
        assert await counters(client, key) == {"rating": 0, "user": 1, "item": 2}
        assert (await rate(client, key, [])).status_code == 204

    async def test_wrong_ids_are_named(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, item_id_type="uuid")
        ratings = [
            {"user_id": 1, "item_id": "nope", "rating": 5},
            {"user_id": -1, "item_id": "00000000000000000000000000000000", "rating": 5},
            {"user_id": 1, "item_id": "00000000000000000000000000000000", "rating": 0},
        ]
        problem = assert_problem(await rate(client, key, ratings), 400, "VALIDATION_ERROR")
        assert set(problem["errors"]) == {"ratings.2.rating"}  # the schema is checked first
        problem = assert_problem(await rate(client, key, ratings[:2]), 400, "VALIDATION_ERROR")
        assert set(problem["errors"]) == {"ratings.0.item_id", "ratings.1.user_id"}

    async def test_upserts_count_only_new_pairs(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await ready_database(client)
        await add_to_catalog(client, key, "item", list(range(10)))
        await add_to_catalog(client, key, "user", list(range(3)))
        first = [{"user_id": u, "item_id": i, "rating": 2} for u in range(2) for i in range(10)]
        assert (await rate(client, key, first)).status_code == 204
        again = [{"user_id": u, "item_id": i, "rating": 7} for u in range(3) for i in range(10)]
        again.append({"user_id": 0, "item_id": 0, "rating": 8, "timestamp": 5})  # the last wins
        assert (await rate(client, key, again)).status_code == 204
        assert await counters(client, key) == await exact_counts(client, engine, key)
        assert (await counters(client, key))["rating"] == 30
        mine = (await client.get("/v1/users/0/ratings/?amt=3&page=1", headers=key)).json()
        assert mine["has_next"] is True
        assert mine["user_ratings"][0] == {"item_id": 0, "rating": 8.0, "timestamp": 5.0}
        assert {r["rating"] for r in mine["user_ratings"][1:]} == {7.0}

    async def test_ratings_of_one_user(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        await add_to_catalog(client, key, "item", [1, 2])
        await add_to_catalog(client, key, "user", [1])
        body = {"ratings": [{"item_id": 1, "rating": 2}, {"item_id": 2, "rating": 3}]}
        assert (await client.put("/v1/users/1/ratings/", headers=key, json=body)).is_success
        missing = await client.put("/v1/users/2/ratings/", headers=key, json=body)
        assert_problem(missing, 404, "USER_NOT_FOUND")
        assert (await counters(client, key))["rating"] == 2


class TestDeletes:
    async def test_ratings_go_with_their_item_or_user(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await ready_database(client, item_id_type="urlsafe16", user_id_type="bytes4")
        items, users = ["a", "b", "c"], ["AAAAAA", "AAAAAQ", "AAAAAg"]
        await add_to_catalog(client, key, "item", items)
        await add_to_catalog(client, key, "user", users)
        ratings = [{"user_id": u, "item_id": i, "rating": 1} for u in users for i in items]
        assert (await rate(client, key, ratings)).status_code == 204
        assert await counters(client, key) == {"rating": 9, "user": 3, "item": 3}

        # Deleting an item's or a user's properties keeps their ratings (docs/data.md).
        assert (await client.delete("/v1/items/b/", headers=key)).status_code == 204
        assert await counters(client, key) == {"rating": 9, "user": 3, "item": 2}
        assert (await client.delete("/v1/users/AAAAAA/", headers=key)).status_code == 204
        assert await counters(client, key) == {"rating": 9, "user": 2, "item": 2}
        # A user with ratings but no properties is still known to its ratings.
        kept = await client.get("/v1/users/AAAAAA/ratings/", headers=key)
        assert kept.status_code == 200, kept.text
        assert {r["item_id"] for r in kept.json()["user_ratings"]} == set(items)
        response = await client.delete("/v1/users/AAAAAA/ratings/", headers=key)
        assert response.status_code == 204, response.text
        assert await counters(client, key) == {"rating": 6, "user": 2, "item": 2}
        # Now it has neither: not found.
        for gone in (
            await client.get("/v1/users/AAAAAA/ratings/", headers=key),
            await client.delete("/v1/users/AAAAAA/ratings/", headers=key),
        ):
            assert_problem(gone, 404, "USER_NOT_FOUND")
        # `DELETE /v1/users/{id}/*` takes the ratings with the properties.
        response = await client.delete("/v1/users/AAAAAQ/*", headers=key)
        assert response.status_code == 204, response.text
        assert await counters(client, key) == {"rating": 3, "user": 1, "item": 2}
        assert await counters(client, key) == await exact_counts(client, engine, key)
        left = (await client.get("/v1/ratings-bulk/", headers=key)).json()["ratings"]
        assert {(r["user_id"], r["item_id"]) for r in left} == {("AAAAAg", i) for i in items}


class TestAtScale:
    async def test_100000_ratings_in_bulk(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await ready_database(client)
        await add_to_catalog(client, key, "user", list(range(1000)))
        await add_to_catalog(client, key, "item", list(range(100)))
        ratings = [
            {"user_id": u, "item_id": i, "rating": 1 + (u + i) % 10, "timestamp": 1e9 + u}
            for u in range(1000)
            for i in range(100)
        ]
        started = time.perf_counter()
        for start in range(0, len(ratings), 20_000):
            response = await rate(client, key, ratings[start : start + 20_000])
            assert response.status_code == 204, response.text
        elapsed = time.perf_counter() - started
        assert elapsed < 30, f"{elapsed:.1f} s"
        expected = {"rating": 100_000, "user": 1000, "item": 100}
        assert await counters(client, key) == expected
        assert await exact_counts(client, engine, key) == expected

        again = await rate(client, key, ratings[:20_000])  # replaces: counts nothing
        assert again.status_code == 204
        assert await counters(client, key) == expected
        page = (await client.get("/v1/ratings-bulk/?amt=5000", headers=key)).json()
        assert len(page["ratings"]) == 5000
        assert page["has_next"] is True
        assert page["ratings"][-1] == {
            "user_id": 49,
            "item_id": 99,
            "rating": 1.0 + (49 + 99) % 10,
            "timestamp": 1e9 + 49,
        }
        params = {"amt": 5000, "cursor": page["next_cursor"]}
        after = (await client.get("/v1/ratings-bulk/", headers=key, params=params)).json()
        assert after["ratings"][0]["user_id"] == 50
        assert after["ratings"][0]["item_id"] == 0

        # Deleting an item's properties keeps its ratings; a user's `*` delete takes them.
        assert (await client.delete("/v1/items/0/", headers=key)).status_code == 204
        assert await counters(client, key) == await exact_counts(client, engine, key)
        assert await counters(client, key) == {"rating": 100_000, "user": 1000, "item": 99}
        assert (await client.delete("/v1/users/0/*", headers=key)).status_code == 204
        assert await counters(client, key) == await exact_counts(client, engine, key)
        assert (await counters(client, key))["rating"] == 99_900


class TestIsolation:
    async def test_another_database_never_sees_ratings(self, client: httpx.AsyncClient) -> None:
        mine, theirs = await ready_database(client), await ready_database(client)
        for key in (mine, theirs):
            await add_to_catalog(client, key, "item", [1])
            await add_to_catalog(client, key, "user", [1])
        assert (
            await client.put("/v1/users/1/ratings/1/", headers=mine, json={"rating": 2})
        ).is_success
        assert (await client.get("/v1/ratings-bulk/", headers=theirs)).json()["ratings"] == []
        theirs_listed = (await client.get("/v1/users/1/ratings/", headers=theirs)).json()
        assert theirs_listed["user_ratings"] == []
        assert_problem(
            await client.delete("/v1/users/1/ratings/1/", headers=theirs), 404, "RATING_NOT_FOUND"
        )
        assert (await counters(client, theirs))["rating"] == 0
        assert (await counters(client, mine))["rating"] == 1


class TestTemplateCopy:
    async def test_a_database_made_from_a_template_with_ratings_counts_them(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        one, two = (n.to_bytes(8, "big") for n in (1, 2))
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO public.items (item_id) VALUES (:one), (:two)"),
                {"one": one, "two": two},
            )
            await connection.execute(
                text("INSERT INTO public.users (user_id) VALUES (:one)"), {"one": one}
            )
            await connection.execute(
                text("INSERT INTO public.ratings VALUES (:one, :two, 5, 0)"),
                {"one": one, "two": two},
            )
        try:
            key = await ready_database(client)
            expected = {"rating": 1, "user": 1, "item": 2}
            assert await counters(client, key) == expected
            assert await exact_counts(client, engine, key) == expected
        finally:
            async with engine.begin() as connection:
                # Ratings have no foreign keys now (tenant migration 0005): deleting the
                # template's items and users would leave its rating behind.
                await connection.execute(text("DELETE FROM public.ratings"))
                await connection.execute(text("DELETE FROM public.items"))
                await connection.execute(text("DELETE FROM public.users"))
