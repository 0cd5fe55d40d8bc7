"""Which schema a data-plane request reaches, and when it is refused (fails closed)."""

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.migrate import head
from tests.utils.factories import (
    add_space,
    make_api_key,
    ready_registration,
    register,
    space_names,
    wait_for_status,
)
from tests.utils.polling import eventually
from tests.utils.problems import assert_problem


async def test_anonymous_reads_the_template_and_cannot_write(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.get("/v1/spaces")
    assert response.status_code == 200
    response = await add_space(client, {}, "intruder")
    assert_problem(response, 403, "PUBLIC_SCHEMA_READ_ONLY")
    async with engine.connect() as connection:
        count = await connection.scalar(text("SELECT count(*) FROM public.spaces"))
    assert count == 0


async def test_credentials_reach_their_database_only(client: httpx.AsyncClient) -> None:
    first, second = await ready_registration(client), await ready_registration(client)
    created = await add_space(client, first.bearer, "first")
    assert created.status_code == 201
    assert await space_names(client, second.bearer) == []
    assert await space_names(client) == []


async def test_frontend_reads_but_cannot_write(client: httpx.AsyncClient) -> None:
    org = await register(client)
    await wait_for_status(client, org.bearer)
    frontend = await make_api_key(client, org.bearer, "frontend")
    assert (await client.get("/v1/spaces", headers=frontend)).status_code == 200
    response = await add_space(client, frontend)
    assert_problem(response, 403, "ROLE_FORBIDDEN")


async def test_a_schema_behind_the_server_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    org = await register(client)
    await wait_for_status(client, org.bearer)
    db_id = org.database_id
    registry = (
        "UPDATE tenantry.schemas SET version = :version WHERE name = "
        "(SELECT schema_name FROM tenantry.databases WHERE id = :id) RETURNING 1"
    )
    async with engine.begin() as connection:
        assert await connection.scalar(text(registry), {"version": "0000", "id": db_id})

    async def refused() -> bool:  # a change made elsewhere reaches the process by NOTIFY
        return (await client.get("/v1/spaces", headers=org.bearer)).status_code == 409

    await eventually(refused, "the schema behind refused")
    response = await client.get("/v1/spaces", headers=org.bearer)
    assert_problem(response, 409, "SCHEMA_MIGRATION_PENDING")
    async with engine.begin() as connection:
        await connection.execute(text(registry), {"version": head("tenant"), "id": db_id})
    assert (await client.get("/v1/spaces", headers=org.bearer)).status_code == 200
