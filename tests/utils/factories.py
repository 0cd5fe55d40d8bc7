"""Test data made through the API of the app under test (an `httpx.AsyncClient` on it):
organizations, accounts, databases, API keys, and the resources of a database."""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"  # every account the tests make has it


def unique_email(label: str) -> str:
    return f"{label}.{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- organizations ------------------------------------------------------------------------


@dataclass
class Registration:
    """An organization as its registration answered: its root's email and the answer."""

    email: str
    body: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.body["token"])

    @property
    def refresh_token(self) -> str:
        return str(self.body["refresh_token"])

    @property
    def api_key(self) -> str:
        return str(self.body["api_key"])

    @property
    def database_id(self) -> str:
        """The id of the database that registration made."""
        return str(self.body["database"]["id"])

    @property
    def bearer(self) -> dict[str, str]:
        return bearer(self.token)

    @property
    def key(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}


async def register(client: httpx.AsyncClient, local: str = "user") -> Registration:
    """A new organization, its email's local part starting with `local`."""
    email = unique_email(local)
    response = await client.post("/v1/register/", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return Registration(email=email, body=response.json())


async def wait_for_status(
    client: httpx.AsyncClient, headers: dict[str, str], wanted: str = "ready", within: float = 20
) -> dict[str, Any]:
    """Poll `GET databases/current/status/` until it says `wanted`."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await client.get("/v1/databases/current/status/", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] == wanted:
            return body
        assert asyncio.get_running_loop().time() < deadline, f"still {body} after {within} s"
        await asyncio.sleep(0.02)


async def ready_registration(client: httpx.AsyncClient, local: str = "user") -> Registration:
    """A new organization whose database is ready (polled with its API key)."""
    registration = await register(client, local)
    await wait_for_status(client, registration.key)
    return registration


async def ready_org(client: httpx.AsyncClient) -> tuple[Registration, dict[str, str]]:
    """A new organization whose database is ready, and its API key as headers."""
    org = await ready_registration(client)
    return org, org.key


async def login_to(client: httpx.AsyncClient, email: str, db_id: str) -> dict[str, str]:
    """An access token of `email` logged in to the database `db_id`, as headers."""
    response = await client.post(
        "/v1/login/individual/", json={"email": email, "password": PASSWORD, "db_id": db_id}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["token"])


# --- accounts and keys --------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: str
    email: str


async def add_account(
    client: httpx.AsyncClient, headers: dict[str, str], role: str, label: str | None = None
) -> Account:
    """A person's account of `role` in the caller's organization."""
    email = unique_email(label or role)
    response = await client.post(
        "/v1/accounts/individual/",
        headers=headers,
        json={"email": email, "password": PASSWORD, "role": role},
    )
    assert response.status_code == 201, response.text
    return Account(str(response.json()["id"]), email)


async def add_service_account(client: httpx.AsyncClient, headers: dict[str, str], role: str) -> str:
    """A service account of `role` in the caller's organization; its id."""
    response = await client.post(
        "/v1/accounts/service/",
        headers=headers,
        json={"name": f"svc-{uuid.uuid4().hex[:8]}", "password": PASSWORD, "role": role},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def make_api_key(
    client: httpx.AsyncClient, headers: dict[str, str], role: str = "backend"
) -> dict[str, str]:
    """A new API key of `role`, made by the caller, as headers."""
    response = await client.post("/v1/api-keys/", headers=headers, json={"role": role})
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["key"]}


# --- databases ----------------------------------------------------------------------------

DATABASE_EXAMPLE = {  # the documentation's
    "name": "Example DB name",
    "description": "Example DB longer description",
    "item_id_type": "uuid",
    "user_id_type": "uint32",
}


async def add_database(
    client: httpx.AsyncClient, org: Registration, **fields: Any
) -> tuple[str, dict[str, str]]:
    """Create a database (the documentation's example with `fields`); return its id and a
    token logged in to it."""
    response = await client.post(
        "/v1/databases/", headers=org.bearer, json=DATABASE_EXAMPLE | fields
    )
    assert response.status_code == 201, response.text
    db_id = response.json()["id"]
    return db_id, await login_to(client, org.email, db_id)


async def ready_database(
    client: httpx.AsyncClient,
    item_id_type: str = "uint32",
    user_id_type: str = "uint32",
    role: str = "backend",
) -> dict[str, str]:
    """A ready database with these id types; an API key of it with `role`, as headers."""
    org = await register(client)
    _, token = await add_database(
        client, org, name="catalog", item_id_type=item_id_type, user_id_type=user_id_type
    )
    await wait_for_status(client, token)
    return await make_api_key(client, token, role)


async def counters(client: httpx.AsyncClient, key: dict[str, str]) -> dict[str, int]:
    """The counters of the caller's database."""
    response = await client.get("/v1/databases/current/", headers=key)
    assert response.status_code == 200, response.text
    found: dict[str, int] = response.json()["counters"]
    return found


# --- spaces -------------------------------------------------------------------------------

SPACES = "/v1/spaces"


async def add_space(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "probe"
) -> httpx.Response:
    """Write to the caller's schema: create a space."""
    return await client.post(SPACES, headers=headers, json={"name": name})


async def create_space(
    client: httpx.AsyncClient, key: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(SPACES, headers=key, json={"name": "s"} | body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def space_names(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> list[str]:
    """The names of the spaces the caller reads (the template without credentials), sorted."""
    response = await client.get(f"{SPACES}?limit=100", headers=headers or {})
    assert response.status_code == 200, response.text
    return sorted(space["name"] for space in response.json()["data"])


# --- tenant models ------------------------------------------------------------------------

MODELS = "/v1/tenant/models"


def idempotent(key: dict[str, str], idempotency_key: str | None = None) -> dict[str, str]:
    return key | {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}


async def create_tenant_model(
    client: httpx.AsyncClient, key: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(MODELS, headers=idempotent(key), json={"name": "m"} | body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- documents ----------------------------------------------------------------------------

DOCUMENTS = "/v20241104/documents"


async def add_document(
    client: httpx.AsyncClient, key: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(DOCUMENTS, headers=key, json={"title": "t"} | body)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


# --- items and users ----------------------------------------------------------------------


async def add_to_catalog(
    client: httpx.AsyncClient, key: dict[str, str], kind: str, ids: list[Any]
) -> None:
    """Items or users (`kind`: "item" or "user") of these ids, without properties."""
    rows = [{f"{kind}_id": value} for value in ids]
    response = await client.put(f"/v1/{kind}s-bulk/", headers=key, json={f"{kind}s": rows})
    assert response.status_code == 204, response.text
