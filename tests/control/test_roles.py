"""The role matrix, as a table: every role against every endpoint and method.

The same table is in docs/auth.md; `allowed` lists the roles that get past the role check
(anonymous callers get 401, other roles 403)."""

import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.utils.factories import PASSWORD, Registration, add_account, login_to, register

ROLES = ["anonymous", "frontend", "backend", "manager", "root"]
STAFF = {"manager", "root"}
EVERYONE = {"frontend", "backend", "manager", "root"}
BACKEND_UP = {"backend", "manager", "root"}

# (method, path, body, roles allowed)
MATRIX: list[tuple[str, str, dict[str, object] | None, set[str]]] = [
    ("GET", "/v1/accounts/", None, STAFF),
    (
        "POST",
        "/v1/accounts/individual/",
        {"email": "@", "password": PASSWORD, "role": "backend"},
        STAFF,
    ),
    (
        "POST",
        "/v1/accounts/service/",
        {"name": "svc", "password": PASSWORD, "role": "backend"},
        STAFF,
    ),
    ("PATCH", "/v1/accounts/{other}/", {"role": "frontend"}, STAFF),
    ("DELETE", "/v1/accounts/{other}/", None, STAFF),
    ("GET", "/v1/api-keys/", None, STAFF),
    ("POST", "/v1/api-keys/", {"role": "frontend"}, STAFF),
    ("DELETE", "/v1/api-keys/{key}/", None, STAFF),
    ("POST", "/v1/logout/", None, EVERYONE),
    (
        "POST",
        "/v1/databases/",
        {"name": "db", "item_id_type": "uuid", "user_id_type": "uuid"},
        STAFF,
    ),
    ("GET", "/v1/databases/", None, BACKEND_UP),
    ("GET", "/v1/databases/current/", None, BACKEND_UP),
    ("PATCH", "/v1/databases/current/", {"description": "changed"}, STAFF),
    ("DELETE", "/v1/databases/current/", None, STAFF),
    ("GET", "/v1/databases/current/status/", None, BACKEND_UP),
]


async def _login(client: httpx.AsyncClient, org: Registration, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    if role == "root":
        return org.bearer
    account = await add_account(client, org.bearer, role)
    return await login_to(client, account.email, org.database_id)


async def _targets(client: httpx.AsyncClient, org: Registration) -> dict[str, str]:
    other = await add_account(client, org.bearer, "backend", "t")
    key = await client.post("/v1/api-keys/", headers=org.bearer, json={"role": "frontend"})
    return {"other": other.id, "key": key.json()["id"]}


Call = Callable[[], Awaitable[httpx.Response]]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
async def test_role_matrix(
    client: httpx.AsyncClient,
    role: str,
    method: str,
    path: str,
    body: dict[str, object] | None,
    allowed: set[str],
) -> None:
    org = await register(client)
    headers = await _login(client, org, role)
    targets = await _targets(client, org)
    if body is not None and body.get("email") == "@":
        body = {**body, "email": f"n.{uuid.uuid4().hex[:8]}@example.com"}
    if body is not None and body.get("name") in ("svc", "db"):
        body = {**body, "name": f"{body['name']}-{uuid.uuid4().hex[:8]}"}
    response = await client.request(method, path.format(**targets), json=body, headers=headers)
    if role in allowed:
        assert response.status_code < 400, response.text
    elif role == "anonymous":
        assert response.status_code == 401
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "ROLE_FORBIDDEN"


class TestRootIsProtected:
    async def test_manager_cannot_touch_root(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        manager = await _login(client, org, "manager")
        root_id = org.body["account_id"]
        for method, body in (("PATCH", {"role": "backend"}), ("DELETE", None)):
            response = await client.request(
                method, f"/v1/accounts/{root_id}/", json=body, headers=manager
            )
            assert response.status_code == 400
            assert response.json()["code"] == "ROOT_IS_UNIQUE"

    async def test_no_second_root(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        response = await client.post(
            "/v1/accounts/individual/",
            headers=org.bearer,
            json={
                "email": f"r.{uuid.uuid4().hex[:8]}@example.com",
                "password": PASSWORD,
                "role": "root",
            },
        )
        assert response.json()["code"] == "ROOT_IS_UNIQUE"

    async def test_manager_cannot_mint_a_root_key(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        manager = await _login(client, org, "manager")
        response = await client.post("/v1/api-keys/", headers=manager, json={"role": "root"})
        assert response.status_code == 403

    async def test_other_orgs_accounts_are_not_found(self, client: httpx.AsyncClient) -> None:
        first, second = await register(client), await register(client)
        targets = await _targets(client, second)
        response = await client.delete(f"/v1/accounts/{targets['other']}/", headers=first.bearer)
        assert response.status_code == 404
        response = await client.delete(f"/v1/api-keys/{targets['key']}/", headers=first.bearer)
        assert response.status_code == 404
