"""Anonymous sessions: their interactions (ids of the database's session id type), resolving
a session to users, which copies its interactions to them now and later, and the list of
resolved sessions; bad input refused whole, and another database never sees them."""

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.utils.factories import (
    add_database,
    add_to_catalog,
    make_api_key,
    register,
    wait_for_status,
)
from tests.utils.problems import assert_problem
from tests.utils.sql import scalar, schema_of

BULK = "/v1/sessions-interactions-bulk/"
RESOLVED = "/v1/resolved-sessions/"
S1 = "0b8c3d3e-0f2a-4a7e-9a55-3c1d2e4f5a6b"
S2 = "5f0e8a91-2b3c-4d5e-8f90-a1b2c3d4e5f6"


async def session_database(
    client: httpx.AsyncClient,
    users: list[Any],
    items: list[Any],
    session_id_type: str = "uuid",
    role: str = "backend",
) -> dict[str, str]:
    """A ready database (uint32 users and items) with these users and items; a key of it."""
    org = await register(client)
    _, token = await add_database(
        client,
        org,
        name="sessions",
        item_id_type="uint32",
        user_id_type="uint32",
        session_id_type=session_id_type,
    )
    await wait_for_status(client, token)
    key = await make_api_key(client, token)
    await add_to_catalog(client, key, "user", users)
    await add_to_catalog(client, key, "item", items)
    return key if role == "backend" else await make_api_key(client, token, role)


async def get(client: httpx.AsyncClient, key: dict[str, str], path: str, **params: Any) -> Any:
    response = await client.get(path, headers=key, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def resolved(client: httpx.AsyncClient, key: dict[str, str], **body: Any) -> Any:
    response = await client.post(RESOLVED, headers=key, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def resolve(
    client: httpx.AsyncClient, key: dict[str, str], session: str, user: Any, **extra: Any
) -> httpx.Response:
    body = {"user_id": user, **extra}
    return await client.post(f"/v1/sessions/{session}/resolve/", headers=key, json=body)


def events(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["item_id"], r["interaction_type"], r["timestamp"]) for r in rows]


async def count(engine: AsyncEngine, client: httpx.AsyncClient, key: dict[str, str]) -> int:
    """count(*) of the caller's session interactions, and its counter agrees."""
    db_id = (await client.get("/v1/databases/current/", headers=key)).json()["id"]
    schema = await schema_of(engine, db_id)
    rows = int(await scalar(engine, f'SELECT count(*) FROM "{schema}".session_interactions'))
    counted = await scalar(
        engine,
        f'SELECT coalesce(sum(value), 0) FROM "{schema}".counters '
        "WHERE name = 'session_interaction'",
    )
    assert int(counted) == rows
    return rows


class TestSessionInteractions:
    async def test_one_of_one_session_and_of_many(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await session_database(client, [], [1, 2])
        body = {"interaction_type": "view", "timestamp": 1, "properties": {"page": "home"}}
        path = f"/v1/sessions/{S1.upper()}/items/1/interactions/"
        response = await client.post(path, headers=key, json=body)
        assert response.status_code == 201, response.text
        assert response.json() == {"warnings": []}
        rows = [{"item_id": 2, "interaction_type": "view", "timestamp": 2}]
        response = await client.post(
            f"/v1/sessions/{S1}/interactions-bulk/", headers=key, json={"interactions": rows}
        )
        assert response.status_code == 201, response.text
        many = [
            {"session_id": S2, "item_id": 1, "interaction_type": "purchase", "timestamp": 3},
            {"session_id": S1, "item_id": 1, "interaction_type": "purchase", "timestamp": 4},
        ]
        response = await client.post(BULK, headers=key, json={"interactions": many})
        assert response.status_code == 201, response.text

        mine = await get(client, key, f"/v1/sessions/{S1}/interactions-bulk/")
        assert mine["has_next"] is False
        assert mine["interactions"][0] == {
            "item_id": 1,
            "interaction_type": "view",
            "timestamp": 1.0,
            "properties": {"page": "home"},
        }
        assert events(mine["interactions"]) == [(1, "view", 1), (2, "view", 2), (1, "purchase", 4)]
        everything = (await get(client, key, BULK))["interactions"]
        assert [(r["session_id"], r["timestamp"]) for r in everything] == [
            (S1, 1.0),
            (S1, 2.0),
            (S1, 4.0),
            (S2, 3.0),
        ]
        framed = await get(client, key, BULK, start_timestamp=2, end_timestamp=4)
        assert [r["timestamp"] for r in framed["interactions"]] == [2.0, 3.0]
        assert await count(engine, client, key) == 4
        assert (await get(client, key, "/v1/interactions-bulk/"))["interactions"] == []
        unknown = await get(
            client, key, "/v1/sessions/00000000-0000-0000-0000-000000000000/interactions-bulk/"
        )
        assert unknown["interactions"] == []

    async def test_pages_follow_signed_cursors(self, client: httpx.AsyncClient) -> None:
        key = await session_database(client, [], [1])
        rows: list[dict[str, Any]] = [
            {"session_id": s, "item_id": 1, "interaction_type": "v", "timestamp": t}
            for s in (S1, S2)
            for t in range(5)
        ]
        assert (await client.post(BULK, headers=key, json={"interactions": rows})).is_success
        seen, cursor = [], None
        while True:
            page = await get(client, key, BULK, amt=3, **({"cursor": cursor} if cursor else {}))
            seen += page["interactions"]
            if not page["has_next"]:
                break
            cursor = page["next_cursor"]
        assert [(r["session_id"], r["timestamp"]) for r in seen] == [
            (r["session_id"], float(r["timestamp"])) for r in rows
        ]
        first = await get(client, key, f"/v1/sessions/{S1}/interactions-bulk/", amt=2)
        response = await client.get(
            f"/v1/sessions/{S2}/interactions-bulk/",
            headers=key,
            params={"cursor": first["next_cursor"]},
        )
        assert_problem(response, 400, "INVALID_CURSOR")
        response = await client.get(
            f"/v1/sessions/{S1}/interactions-bulk/", headers=key, params={"start_timestamp": 1}
        )
        assert_problem(response, 400, "VALIDATION_ERROR")

    async def test_session_ids_follow_the_session_id_type(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await session_database(client, [1], [1], session_id_type="hex4")
        body = {"interaction_type": "view", "timestamp": 1}
        for bad in (S1, "abc", "0a0b0c0d0e"):
            response = await client.post(
                f"/v1/sessions/{bad}/items/1/interactions/", headers=key, json=body
            )
            problem = assert_problem(response, 400, "VALIDATION_ERROR")
            assert list(problem["errors"]) == ["session_id"]
        ok = await client.post("/v1/sessions/0A0B/items/1/interactions/", headers=key, json=body)
        assert ok.status_code == 201
        (row,) = (await get(client, key, BULK))["interactions"]
        assert row["session_id"] == "0a0b"
        bad_rows = [
            {"session_id": "xyz", "item_id": 1, "interaction_type": "v"},
            {"session_id": "0a", "item_id": "one", "interaction_type": "v"},
        ]
        response = await client.post(BULK, headers=key, json={"interactions": bad_rows})
        problem = assert_problem(response, 400, "VALIDATION_ERROR")
        assert set(problem["errors"]) == {"interactions.0.session_id", "interactions.1.item_id"}
        assert_problem(await resolve(client, key, "nope", 1), 400, "VALIDATION_ERROR")
        assert await count(engine, client, key) == 1

    async def test_the_session_id_type_comes_with_the_caller(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        """As the item and user id types do: a request to a session's route sends no
        statement to the control plane's tables."""
        key = await session_database(client, [1], [1], session_id_type="hex4")
        engines = [app.state.engine, *app.state.lanes.engines]
        sent: list[str] = []
        request = asyncio.current_task()  # the app runs in it; the job worker in its own

        def note(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if asyncio.current_task() is request:
                sent.append(statement)

        for each in engines:
            event.listen(each.sync_engine, "before_cursor_execute", note)
        try:
            page = await get(client, key, "/v1/sessions/0a0b/interactions-bulk/")
        finally:
            for each in engines:
                event.remove(each.sync_engine, "before_cursor_execute", note)
        assert page["interactions"] == []
        assert sent, "the page's query"
        assert [statement for statement in sent if "tenantry." in statement] == []

    async def test_items_must_exist(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        key = await session_database(client, [], [1])
        body = {"interaction_type": "view"}
        response = await client.post(
            f"/v1/sessions/{S1}/items/2/interactions/", headers=key, json=body
        )
        assert_problem(response, 404, "ITEM_NOT_FOUND")
        rows = [
            {"session_id": S1, "item_id": 1, "interaction_type": "v"},
            {"session_id": S1, "item_id": 3, "interaction_type": "v"},
        ]
        response = await client.post(BULK, headers=key, json={"interactions": rows})
        problem = assert_problem(response, 404, "USERS_OR_ITEMS_NOT_FOUND")
        assert problem["error_data"]["items"] == [3]
        assert problem["error_data"]["users"] == []
        assert await count(engine, client, key) == 0


class TestResolve:
    async def test_a_resolved_session_is_the_users_now_and_later(
        self, client: httpx.AsyncClient
    ) -> None:
        key = await session_database(client, [1, 2], [1, 2, 3])
        rows = [
            {"session_id": S1, "item_id": 1, "interaction_type": "view", "timestamp": 1},
            {"session_id": S1, "item_id": 2, "interaction_type": "view", "timestamp": 2},
            {"session_id": S2, "item_id": 3, "interaction_type": "view", "timestamp": 9},
        ]
        assert (await client.post(BULK, headers=key, json={"interactions": rows})).is_success
        own = {"interaction_type": "purchase", "timestamp": 0.5}
        assert (
            await client.post("/v1/users/1/interactions/3/", headers=key, json=own)
        ).status_code == 201

        response = await resolve(client, key, S1, 1, timestamp=100)
        assert response.status_code == 204, response.text
        user = (await get(client, key, "/v1/users/1/interactions-bulk/"))["interactions"]
        assert events(user) == [(3, "purchase", 0.5), (1, "view", 1), (2, "view", 2)]
        later = {"interaction_type": "purchase", "timestamp": 3, "properties": {"qty": 2}}
        path = f"/v1/sessions/{S1}/items/2/interactions/"
        assert (await client.post(path, headers=key, json=later)).status_code == 201
        user = (await get(client, key, "/v1/users/1/interactions-bulk/"))["interactions"]
        assert user[-1] == {
            "item_id": 2,
            "interaction_type": "purchase",
            "timestamp": 3.0,
            "properties": {"qty": 2},
        }
        session = (await get(client, key, f"/v1/sessions/{S1}/interactions-bulk/"))["interactions"]
        assert len(session) == 3  # the session keeps its own

        assert (await resolve(client, key, S1, 1)).status_code == 204  # again: nothing doubles
        assert (await resolve(client, key, S1, 2)).status_code == 204  # and to another user
        second = (await get(client, key, "/v1/users/2/interactions-bulk/"))["interactions"]
        assert events(second) == events(session)
        assert len((await get(client, key, "/v1/users/1/interactions-bulk/"))["interactions"]) == 4
        everything = await get(client, key, "/v1/interactions-bulk/")
        assert len(everything["interactions"]) == 7

        many = [{"session_id": S1, "item_id": 3, "interaction_type": "view", "timestamp": 5}]
        assert (await client.post(BULK, headers=key, json={"interactions": many})).is_success
        for user_id in (1, 2):
            mine = await get(client, key, f"/v1/users/{user_id}/interactions-bulk/")
            assert (3, "view", 5.0) in events(mine["interactions"])
        untouched = await get(client, key, f"/v1/sessions/{S2}/interactions-bulk/")
        assert len(untouched["interactions"]) == 1

        assert (await resolve(client, key, S2, 2)).status_code == 204
        same_event = {"item_id": 1, "interaction_type": "cart", "timestamp": 7}
        both = [{"session_id": S1, **same_event}, {"session_id": S2, **same_event}]
        assert (await client.post(BULK, headers=key, json={"interactions": both})).is_success
        second = (await get(client, key, "/v1/users/2/interactions-bulk/"))["interactions"]
        assert events(second).count((1, "cart", 7.0)) == 1  # one event, from both sessions

    async def test_listing_resolved_sessions(self, client: httpx.AsyncClient) -> None:
        key = await session_database(client, [1, 2, 3], [1])
        assert (await resolve(client, key, S2, 1, timestamp=5)).status_code == 204
        assert (await resolve(client, key, S1, 1, timestamp=6)).status_code == 204
        assert (await resolve(client, key, S1, 2, timestamp=7)).status_code == 204
        assert (await resolve(client, key, S1, 2, timestamp=8)).status_code == 204  # moves
        everything = await resolved(client, key)
        assert everything == {
            "resolved_sessions": [
                {"session_id": S1, "user_id": 1, "timestamp": 6.0},
                {"session_id": S2, "user_id": 1, "timestamp": 5.0},
                {"session_id": S1, "user_id": 2, "timestamp": 8.0},
            ],
            "has_next": False,
            "next_cursor": None,
        }
        first = await resolved(client, key, amt=2)
        assert first["has_next"] is True
        rest = await resolved(client, key, amt=2, cursor=first["next_cursor"])
        assert (
            first["resolved_sessions"] + rest["resolved_sessions"]
            == (everything["resolved_sessions"])
        )
        no_body = await client.post(RESOLVED, headers=key)  # the client's call with no argument
        assert no_body.status_code == 200, no_body.text
        assert no_body.json() == everything
        of_two = await resolved(client, key, users_id=[2, 3])
        assert [r["user_id"] for r in of_two["resolved_sessions"]] == [2]
        assert (await resolved(client, key, users_id=[]))["resolved_sessions"] == []

    async def test_bad_resolutions_write_nothing(self, client: httpx.AsyncClient) -> None:
        key = await session_database(client, [1], [1])
        assert_problem(await resolve(client, key, S1, 9), 404, "USER_NOT_FOUND")
        for body, field in (
            ({}, "user_id"),
            ({"user_id": "x"}, "user_id"),
            ({"user_id": 1, "timestamp": -1}, "timestamp"),
            ({"user_id": 1, "session": S2}, "session"),
        ):
            response = await client.post(f"/v1/sessions/{S1}/resolve/", headers=key, json=body)
            problem = assert_problem(response, 400, "VALIDATION_ERROR")
            assert list(problem["errors"]) == [field], body
            # the Crossing Minds client shows error_data only: it names the field too
            assert problem["error_data"]["key"] == field
            assert problem["error_data"]["fields"] == problem["errors"]
        listings: tuple[tuple[dict[str, Any], str], ...] = (
            ({"users_id": [1, "two"]}, "users_id.1"),
            ({"amt": 0}, "amt"),
            ({"amt": 5001}, "amt"),
            ({"cursor": "forged"}, "cursor"),
            ({"users_id": "1"}, "users_id"),
        )
        for body, field in listings:
            response = await client.post(RESOLVED, headers=key, json=body)
            problem = assert_problem(response, 400, response.json()["code"])
            assert list(problem["errors"]) == [field], body
        assert (await resolved(client, key))["resolved_sessions"] == []
        assert (await get(client, key, "/v1/interactions-bulk/"))["interactions"] == []


class TestAccessAndIsolation:
    async def test_frontend_reads_only(self, client: httpx.AsyncClient) -> None:
        key = await session_database(client, [1], [1], role="frontend")
        body = {"interaction_type": "view"}
        path = f"/v1/sessions/{S1}/items/1/interactions/"
        assert (await client.post(path, headers=key, json=body)).status_code == 403
        assert (await resolve(client, key, S1, 1)).status_code == 403
        assert (await get(client, key, BULK))["interactions"] == []
        assert (await resolved(client, key))["resolved_sessions"] == []
        assert (await client.get(BULK)).status_code == 401

    async def test_another_database_never_sees_them(self, client: httpx.AsyncClient) -> None:
        mine = await session_database(client, [1], [1])
        theirs = await session_database(client, [1], [1])
        body = {"interaction_type": "view", "timestamp": 1}
        path = f"/v1/sessions/{S1}/items/1/interactions/"
        assert (await client.post(path, headers=mine, json=body)).status_code == 201
        assert (await resolve(client, mine, S1, 1)).status_code == 204
        assert (await get(client, theirs, BULK))["interactions"] == []
        theirs_of_session = await get(client, theirs, f"/v1/sessions/{S1}/interactions-bulk/")
        assert theirs_of_session["interactions"] == []
        assert (await resolved(client, theirs))["resolved_sessions"] == []
        assert (await get(client, theirs, "/v1/users/1/interactions-bulk/"))["interactions"] == []
        assert len((await get(client, mine, "/v1/users/1/interactions-bulk/"))["interactions"]) == 1
        # their own session of the same id stays theirs: resolving it copies only theirs
        assert (await resolve(client, theirs, S1, 1)).status_code == 204
        assert (await get(client, theirs, "/v1/users/1/interactions-bulk/"))["interactions"] == []
