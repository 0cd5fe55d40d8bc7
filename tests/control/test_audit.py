"""The audit trail: each kind of control-plane change, written with the change, read by
root and managers of its organization only, never holding a secret."""

from typing import Any

import httpx
import pytest

from tests.utils.factories import (
    add_account,
    add_database,
    login_to,
    make_api_key,
    register,
)


async def trail(
    client: httpx.AsyncClient, headers: dict[str, str], **filters: str
) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit/", headers=headers, params=filters)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["data"]
    return events


def actions(events: list[dict[str, Any]]) -> list[str]:
    return [event["action"] for event in events]


class TestKindsOfChange:
    async def test_registration_makes_an_organization_account_database_and_key(
        self, client: httpx.AsyncClient
    ) -> None:
        org = await register(client)
        events = await trail(client, org.bearer)
        for action in ("organization.created", "account.created", "database.created"):
            assert action in actions(events)
        assert "api_key.created" in actions(events)
        created = next(e for e in events if e["action"] == "account.created")
        assert "password_hash" not in created["after"]
        assert created["address"] == "127.0.0.1"
        assert created["channel"] == "api"

    async def test_logins_and_failed_logins(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        await login_to(client, org.email, org.database_id)
        refused = await client.post(
            "/v1/login/individual/", json={"email": org.email, "password": "wrong-password-1"}
        )
        assert refused.status_code == 401
        events = await trail(client, org.bearer)
        assert actions(events)[:2] == ["login.failed", "login"]
        assert "wrong-password-1" not in str(events)
        root_id = events[1]["target_id"]
        assert events[0]["target_id"] == root_id
        assert events[1]["actor_account_id"] == root_id
        assert events[1]["database_id"] == org.database_id

    async def test_keys_created_and_revoked_by_their_maker(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        created = await client.post("/v1/api-keys/", headers=org.bearer, json={"name": "ci"})
        key = created.json()
        assert (
            await client.delete(f"/v1/api-keys/{key['id']}/", headers=org.bearer)
        ).status_code == 204
        events = await trail(client, org.bearer, database_id=org.database_id)
        assert actions(events)[:2] == ["api_key.revoked", "api_key.created"]
        assert events[0]["before"] == {"revoked_at": None}
        assert events[0]["after"]["revoked_at"] is not None
        assert events[1]["after"]["prefix"] == key["prefix"]
        assert key["key"] not in str(events)
        assert all("secret_hash" not in (event["after"] or {}) for event in events)

    async def test_databases_created_updated_deleted(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        db_id, token = await add_database(client, org, name="audited")
        changed = await client.patch(
            "/v1/databases/current/", headers=token, json={"description": "new words"}
        )
        assert changed.status_code == 200, changed.text
        assert (await client.delete("/v1/databases/current/", headers=token)).status_code == 204
        everything = await trail(client, org.bearer, database_id=db_id)
        events = [event for event in everything if event["target_type"] == "database"]
        assert actions(events) == ["database.deleted", "database.updated", "database.created"]
        assert "login" in actions(everything)  # into that database
        assert events[1]["before"] == {"description": "Example DB longer description"}
        assert events[1]["after"] == {"description": "new words"}
        assert events[0]["before"]["name"] == "audited"

    async def test_accounts_and_roles(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        manager = await add_account(client, org.bearer, "manager")
        demoted = await client.patch(
            f"/v1/accounts/{manager.id}/", headers=org.bearer, json={"role": "backend"}
        )
        assert demoted.status_code == 200, demoted.text
        assert (
            await client.delete(f"/v1/accounts/{manager.id}/", headers=org.bearer)
        ).status_code == 204
        events = await trail(client, org.bearer, action="account.updated")
        assert events[0]["before"]["role"] == "manager"
        assert events[0]["after"]["role"] == "backend"
        assert "account.deleted" in actions(await trail(client, org.bearer))

    async def test_filters_by_actor_and_time(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        key = await make_api_key(client, org.bearer, "manager")
        await client.post("/v1/api-keys/", headers=key, json={"name": "by key"})
        events = await trail(client, org.bearer, action="api_key.created")
        by_key = [event for event in events if event["actor_api_key_id"]]
        assert len(by_key) == 1
        mine = await trail(client, org.bearer, actor=by_key[0]["actor_api_key_id"])
        assert [event["id"] for event in mine] == [by_key[0]["id"]]
        later = await trail(client, org.bearer, since="2999-01-01T00:00:00Z")
        assert later == []


class TestReading:
    async def test_pages_follow_each_other(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        for _ in range(3):
            await client.post("/v1/api-keys/", headers=org.bearer, json={})
        seen: list[int] = []
        cursor = None
        while True:
            params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/v1/audit/", headers=org.bearer, params=params)).json()
            seen += [event["id"] for event in page["data"]]
            cursor = page["meta"]["next_cursor"]
            if cursor is None:
                break
        assert seen == sorted(seen, reverse=True)
        assert len(seen) == len(set(seen)) >= 7

    async def test_another_organization_sees_none_of_it(self, client: httpx.AsyncClient) -> None:
        first, second = await register(client), await register(client)
        mine = await trail(client, first.bearer)
        theirs = await trail(client, second.bearer)
        assert {event["id"] for event in mine}.isdisjoint(event["id"] for event in theirs)
        page = (await client.get("/v1/audit/", headers=first.bearer, params={"limit": "1"})).json()
        carried = await client.get(
            "/v1/audit/", headers=second.bearer, params={"cursor": page["meta"]["next_cursor"]}
        )
        assert carried.status_code == 400
        assert carried.json()["code"] == "INVALID_CURSOR"

    @pytest.mark.parametrize("role", ["backend", "frontend"])
    async def test_only_root_and_managers_read_it(
        self, client: httpx.AsyncClient, role: str
    ) -> None:
        org = await register(client)
        account = await add_account(client, org.bearer, role)
        token = await login_to(client, account.email, org.database_id)
        assert (await client.get("/v1/audit/", headers=token)).status_code == 403

    async def test_bad_filters_are_400(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        for params in ({"since": "yesterday"}, {"limit": "0"}, {"cursor": "x.y"}):
            answer = await client.get("/v1/audit/", headers=org.bearer, params=params)
            assert answer.status_code == 400, params
