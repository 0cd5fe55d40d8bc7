"""Keys belong to an account: service accounts have keys of their own, a key never acts
above its owner's role, and it dies with its owner."""

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from tenantry.db.sessions import detached_session
from tenantry.models.control import ApiKey
from tests.utils.factories import (
    Registration,
    add_account,
    add_service_account,
    add_space,
    register,
    wait_for_status,
)
from tests.utils.problems import assert_problem


async def _key(client: httpx.AsyncClient, org: Registration, **body: object) -> httpx.Response:
    return await client.post("/v1/api-keys/", headers=org.bearer, json=body)


async def test_a_service_account_owns_its_keys(client: httpx.AsyncClient) -> None:
    org = await register(client)
    await wait_for_status(client, org.bearer)
    service = await add_service_account(client, org.bearer, "backend")
    created = await _key(client, org, role="backend", account_id=service, name="ingest")
    assert created.status_code == 201, created.text
    assert created.json()["account_id"] == service
    key = {"X-API-Key": created.json()["key"]}
    assert (await add_space(client, key)).status_code == 201

    deleted = await client.delete(f"/v1/accounts/{service}/", headers=org.bearer)
    assert deleted.status_code == 204
    response = await client.get("/v1/spaces", headers=key)
    assert_problem(response, 401, "INVALID_CREDENTIALS")


async def test_a_key_never_acts_above_its_owner(client: httpx.AsyncClient) -> None:
    org = await register(client)
    await wait_for_status(client, org.bearer)
    service = await add_service_account(client, org.bearer, "manager")
    created = await _key(client, org, role="manager", account_id=service)
    key = {"X-API-Key": created.json()["key"]}
    assert (await client.get("/v1/api-keys/", headers=key)).status_code == 200

    demoted = await client.patch(
        f"/v1/accounts/{service}/", headers=org.bearer, json={"role": "frontend"}
    )
    assert demoted.status_code == 200
    assert_problem(await client.get("/v1/api-keys/", headers=key), 403, "ROLE_FORBIDDEN")
    response = await add_space(client, key)
    assert_problem(response, 403, "ROLE_FORBIDDEN")
    assert (await client.get("/v1/spaces", headers=key)).status_code == 200


async def test_owner_rules(client: httpx.AsyncClient) -> None:
    org, other = await register(client), await register(client)
    backend = await add_service_account(client, org.bearer, "backend")
    response = await _key(client, org, role="manager", account_id=backend)
    assert_problem(response, 403, "ROLE_FORBIDDEN")
    foreign = await add_service_account(client, other.bearer, "backend")
    response = await _key(client, org, role="backend", account_id=foreign)
    assert_problem(response, 404, "ACCOUNT_NOT_FOUND")
    person = await add_account(client, org.bearer, "backend", "p")
    response = await _key(client, org, role="backend", account_id=person.id)
    body = assert_problem(response, 400, "BAD_REQUEST")
    assert set(body["errors"]) == {"account_id"}


async def test_a_key_made_with_a_key_belongs_to_the_makers_owner(
    client: httpx.AsyncClient,
) -> None:
    org = await register(client)
    await wait_for_status(client, org.bearer)
    service = await add_service_account(client, org.bearer, "manager")
    first = await _key(client, org, role="manager", account_id=service)
    maker = {"X-API-Key": first.json()["key"]}
    second = await client.post("/v1/api-keys/", headers=maker, json={"role": "manager"})
    assert second.status_code == 201, second.text
    assert second.json()["account_id"] == service
    descendant = {"X-API-Key": second.json()["key"]}

    demoted = await client.patch(
        f"/v1/accounts/{service}/", headers=org.bearer, json={"role": "frontend"}
    )
    assert demoted.status_code == 200
    for key in (maker, descendant):
        assert_problem(await client.get("/v1/api-keys/", headers=key), 403, "ROLE_FORBIDDEN")
    assert (await client.delete(f"/v1/accounts/{service}/", headers=org.bearer)).status_code == 204
    for key in (maker, descendant):
        assert_problem(await client.get("/v1/spaces", headers=key), 401, "INVALID_CREDENTIALS")


async def test_a_key_with_no_owner_makes_no_keys(client: httpx.AsyncClient, app: FastAPI) -> None:
    org = await register(client)
    await wait_for_status(client, org.bearer)
    async with detached_session(app.state.engine) as session:
        await session.execute(  # as `tenantry keys create` makes them: no account behind it
            update(ApiKey).where(ApiKey.org_id == org.body["org_id"]).values(account_id=None)
        )
    ownerless = org.key
    response = await client.post("/v1/api-keys/", headers=ownerless, json={"role": "backend"})
    assert_problem(response, 403, "ROLE_FORBIDDEN")
