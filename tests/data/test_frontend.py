"""Frontend logins: a login naming the app's user and anonymous session resolves the session
to the user, as `resolve_session` does; `~me` in a path is that user or session. A frontend
login reads, and writes only its own user's ratings and interactions and its own session's
interactions, at `~me`; any caller without such an id is refused and nothing changes."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.utils.factories import (
    PASSWORD,
    Registration,
    add_account,
    add_database,
    add_to_catalog,
    bearer,
    make_api_key,
    register,
    wait_for_status,
)
from tests.utils.problems import assert_problem
from tests.utils.worker import PausedWorker

S1 = "0b8c3d3e-0f2a-4a7e-9a55-3c1d2e4f5a6b"
S2 = "5f0e8a91-2b3c-4d5e-8f90-a1b2c3d4e5f6"
VIEW = {"interaction_type": "view", "timestamp": 1}
LATER = {"interactions": [{"item_id": 2, "interaction_type": "view", "timestamp": 2}]}


@dataclass(frozen=True)
class Shop:
    """A ready database (uint32 users and items, uuid sessions) holding users 1 and 2 and
    items 1 and 2, its organization and a backend key of it."""

    org: Registration
    db_id: str
    key: dict[str, str]

    async def login(self, client: httpx.AsyncClient, role: str, **named: Any) -> dict[str, str]:
        """An access token of a new account of `role`, logged in to the database with the
        frontend ids `named` (`frontend_user_id`, `frontend_session_id`)."""
        response = await self.try_login(client, role, **named)
        assert response.status_code == 200, response.text
        return bearer(response.json()["token"])

    async def try_login(self, client: httpx.AsyncClient, role: str, **named: Any) -> httpx.Response:
        account = await add_account(client, self.org.bearer, role)
        body = {"email": account.email, "password": PASSWORD, "db_id": self.db_id, **named}
        return await client.post("/v1/login/individual/", json=body)


@pytest.fixture
async def shop(client: httpx.AsyncClient) -> Shop:
    org = await register(client)
    db_id, token = await add_database(
        client,
        org,
        name="shop",
        item_id_type="uint32",
        user_id_type="uint32",
        session_id_type="uuid",
    )
    await wait_for_status(client, token)
    key = await make_api_key(client, token)
    await add_to_catalog(client, key, "user", [1, 2])
    await add_to_catalog(client, key, "item", [1, 2])
    return Shop(org, db_id, key)


async def listed(client: httpx.AsyncClient, headers: dict[str, str], path: str) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def nothing_written(client: httpx.AsyncClient, shop: Shop) -> None:
    for path in ("/v1/ratings-bulk/", "/v1/interactions-bulk/", "/v1/sessions-interactions-bulk/"):
        body = await listed(client, shop.key, path)
        assert body.get("ratings", body.get("interactions")) == [], path


async def resolutions(client: httpx.AsyncClient, shop: Shop) -> list[tuple[Any, Any]]:
    response = await client.post("/v1/resolved-sessions/", headers=shop.key, json={})
    assert response.status_code == 200, response.text
    return [(r["user_id"], r["session_id"]) for r in response.json()["resolved_sessions"]]


class TestLogins:
    async def test_a_login_naming_both_resolves_the_session_to_the_user(
        self, client: httpx.AsyncClient, shop: Shop
    ) -> None:
        before = await client.post(
            f"/v1/sessions/{S1}/items/1/interactions/", headers=shop.key, json=VIEW
        )
        assert before.status_code == 201, before.text
        me = await shop.login(client, "frontend", frontend_user_id=2, frontend_session_id=S1)
        assert await resolutions(client, shop) == [(2, S1)]
        later = await client.post("/v1/sessions/~me/items/2/interactions/", headers=me, json=VIEW)
        assert later.status_code == 201, later.text
        users = (await listed(client, shop.key, "/v1/interactions-bulk/"))["interactions"]
        assert sorted((r["user_id"], r["item_id"]) for r in users) == [(2, 1), (2, 2)]
        await shop.login(client, "backend", frontend_user_id=2, frontend_session_id=S1)
        assert await resolutions(client, shop) == [(2, S1)]  # any login resolves; once

    @pytest.mark.parametrize(
        ("named", "field"),
        [
            ({"frontend_user_id": "one", "frontend_session_id": S1}, "frontend_user_id"),
            ({"frontend_user_id": 1, "frontend_session_id": 7}, "frontend_session_id"),
            ({"frontend_user_id": 2**32}, "frontend_user_id"),
            ({"frontend_session_id": "not-a-uuid"}, "frontend_session_id"),
        ],
    )
    async def test_ids_not_of_the_databases_types_are_refused(
        self, client: httpx.AsyncClient, shop: Shop, named: dict[str, Any], field: str
    ) -> None:
        response = await shop.try_login(client, "frontend", **named)
        problem = assert_problem(response, 400, "VALIDATION_ERROR")
        assert problem["errors"].keys() == {field}
        assert problem["error_data"]["key"] == field
        assert await resolutions(client, shop) == []

    async def test_the_user_must_exist(self, client: httpx.AsyncClient, shop: Shop) -> None:
        response = await shop.try_login(
            client, "frontend", frontend_user_id=9, frontend_session_id=S1
        )
        problem = assert_problem(response, 404, "USER_NOT_FOUND")
        assert problem["error_data"]["key"] == 9
        assert await resolutions(client, shop) == []

    async def test_a_database_not_ready_resolves_nothing(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        org = await register(client)
        worker = PausedWorker(app)
        await worker.pause()
        try:
            db_id, _ = await add_database(client, org, name="later", user_id_type="uint32")
            body = {"email": org.email, "password": PASSWORD, "db_id": db_id}
            both = {"frontend_user_id": 1, "frontend_session_id": S1}
            response = await client.post("/v1/login/individual/", json=body | both)
            assert_problem(response, 409, "DATABASE_NOT_READY")
            only_user = await client.post(
                "/v1/login/individual/", json=body | {"frontend_user_id": 1}
            )
            assert only_user.status_code == 200, only_user.text
        finally:
            worker.resume()


class TestOwnData:
    async def test_a_frontend_login_writes_and_reads_its_own_at_me(
        self, client: httpx.AsyncClient, shop: Shop
    ) -> None:
        me = await shop.login(client, "frontend", frontend_user_id=1, frontend_session_id=S1)
        writes = [
            ("PUT", "/v1/users/~me/ratings/1/", {"rating": 4}),
            ("PUT", "/v1/users/~me/ratings/", {"ratings": [{"item_id": 2, "rating": 2}]}),
            ("POST", "/v1/users/~me/interactions/1/", VIEW),
            ("POST", "/v1/users/~me/interactions-bulk/", LATER),
            ("POST", "/v1/sessions/~me/items/1/interactions/", VIEW),
            ("POST", "/v1/sessions/~me/interactions-bulk/", LATER),
        ]
        for method, path, body in writes:
            response = await client.request(method, path, headers=me, json=body)
            assert response.status_code < 300, (path, response.text)
        ratings = (await listed(client, shop.key, "/v1/ratings-bulk/"))["ratings"]
        assert sorted((r["user_id"], r["item_id"]) for r in ratings) == [(1, 1), (1, 2)]
        users = await listed(client, shop.key, "/v1/interactions-bulk/")
        assert sorted((r["user_id"], r["item_id"]) for r in users["interactions"]) == [
            (1, 1),
            (1, 2),
        ]
        session = await listed(client, shop.key, f"/v1/sessions/{S1}/interactions-bulk/")
        assert sorted(r["item_id"] for r in session["interactions"]) == [1, 2]
        mine = await listed(client, me, "/v1/users/~me/interactions-bulk/")
        assert len(mine["interactions"]) == 2
        assert (await listed(client, me, "/v1/users/~me/properties/"))["user"]["user_id"] == 1
        assert len((await listed(client, me, "/v1/users/~me/ratings/"))["user_ratings"]) == 2
        own_session = await listed(client, me, "/v1/sessions/~me/interactions-bulk/")
        assert len(own_session["interactions"]) == 2
        for path in ("/v1/users/~me/ratings/1/", "/v1/users/~me/ratings/"):
            assert (await client.delete(path, headers=me)).status_code == 204
        assert (await listed(client, shop.key, "/v1/ratings-bulk/"))["ratings"] == []

    async def test_a_frontend_login_writes_nothing_else(
        self, client: httpx.AsyncClient, shop: Shop
    ) -> None:
        me = await shop.login(client, "frontend", frontend_user_id=1, frontend_session_id=S1)
        refused = [
            ("PUT", "/v1/users/2/ratings/1/", {"rating": 4}),
            ("PUT", "/v1/users/1/ratings/1/", {"rating": 4}),  # its own, not at `~me`
            ("POST", "/v1/users/2/interactions/1/", VIEW),
            ("POST", f"/v1/sessions/{S2}/items/1/interactions/", VIEW),
            ("POST", f"/v1/sessions/{S1}/items/1/interactions/", VIEW),
            ("PUT", "/v1/users/~me/properties/", {"user": {}}),
            ("DELETE", "/v1/users/~me/*/", None),
            ("POST", "/v1/sessions/~me/resolve/", {"user_id": 1}),
            ("POST", "/v1/interactions-bulk/", {"interactions": []}),
            ("PUT", "/v1/items/1/properties/", {"item": {}}),
        ]
        for method, path, body in refused:
            response = await client.request(method, path, headers=me, json=body)
            assert_problem(response, 403, "ROLE_FORBIDDEN")
        await nothing_written(client, shop)
        assert (await listed(client, me, "/v1/users/2/properties/"))["user"]["user_id"] == 2


class TestCallersWithoutIt:
    @pytest.mark.parametrize(
        ("role", "named"),
        [
            ("backend", {"frontend_user_id": 1, "frontend_session_id": S1}),
            ("manager", {"frontend_user_id": 1, "frontend_session_id": S1}),
            ("frontend", {}),
        ],
        ids=["backend", "manager", "frontend-naming-none"],
    )
    async def test_a_login_without_a_frontend_id_is_refused(
        self, client: httpx.AsyncClient, shop: Shop, role: str, named: dict[str, Any]
    ) -> None:
        caller = await shop.login(client, role, **named)
        await self.assert_refused(client, shop, caller)

    async def test_api_keys_are_refused(self, client: httpx.AsyncClient, shop: Shop) -> None:
        await self.assert_refused(client, shop, shop.key)
        frontend_key = await make_api_key(client, await self.token_of(client, shop), "frontend")
        problem = await self.assert_refused(client, shop, frontend_key)
        assert "API key" in problem["detail"]

    async def test_anonymous_callers_must_log_in(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/users/~me/ratings/")
        assert_problem(response, 401, "AUTHENTICATION_REQUIRED")
        response = await client.post("/v1/sessions/~me/items/1/interactions/", json=VIEW)
        assert_problem(response, 401, "AUTHENTICATION_REQUIRED")

    async def test_a_frontend_login_naming_only_its_user_has_no_session(
        self, client: httpx.AsyncClient, shop: Shop
    ) -> None:
        me = await shop.login(client, "frontend", frontend_user_id=2)
        assert (await listed(client, me, "/v1/users/~me/properties/"))["user"]["user_id"] == 2
        path = "/v1/sessions/~me/items/1/interactions/"
        problem = assert_problem(
            await client.post(path, headers=me, json=VIEW), 400, "NO_FRONTEND_ID"
        )
        assert problem["errors"].keys() == {"session_id"}
        assert "frontend_session_id" in problem["detail"]
        await nothing_written(client, shop)

    @staticmethod
    async def token_of(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
        response = await client.post(
            "/v1/login/individual/",
            json={"email": shop.org.email, "password": PASSWORD, "db_id": shop.db_id},
        )
        assert response.status_code == 200, response.text
        return bearer(response.json()["token"])

    @staticmethod
    async def assert_refused(
        client: httpx.AsyncClient, shop: Shop, caller: dict[str, str]
    ) -> dict[str, Any]:
        """`~me` refused as a user and as a session, reading and writing: 400 naming the
        path's parameter, the client's `error_data` naming it too; nothing written."""
        attempts = [
            ("GET", "/v1/users/~me/ratings/", None, "user_id"),
            ("PUT", "/v1/users/~me/ratings/1/", {"rating": 4}, "user_id"),
            ("POST", "/v1/users/~me/interactions/1/", VIEW, "user_id"),
            ("GET", "/v1/sessions/~me/interactions-bulk/", None, "session_id"),
            ("POST", "/v1/sessions/~me/items/1/interactions/", VIEW, "session_id"),
        ]
        problem: dict[str, Any] = {}
        for method, path, body, parameter in attempts:
            response = await client.request(method, path, headers=caller, json=body)
            problem = assert_problem(response, 400, "NO_FRONTEND_ID")
            assert problem["errors"].keys() == {parameter}, path
            assert problem["error_data"]["key"] == parameter
            assert "~me" in problem["detail"]
        await nothing_written(client, shop)
        return problem
