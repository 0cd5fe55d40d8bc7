"""Tenant models: the documented requests, idempotent creates, keyset pagination,
isolation between databases."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry import idempotency
from tests.utils.factories import (
    MODELS,
    create_tenant_model,
    idempotent,
    make_api_key,
    ready_org,
)
from tests.utils.problems import assert_problem
from tests.utils.sql import schema_of


class TestDocumentedRequests:
    async def test_the_documented_sequence(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        response = await client.post(
            MODELS,
            headers=idempotent(key, "unique_key"),
            json={"name": "New Tenant Model", "description": "Description of the model"},
        )
        assert response.status_code == 201
        model = response.json()
        assert model["name"] == "New Tenant Model"
        assert model["description"] == "Description of the model"
        assert model["is_enabled"] is True
        assert model["overrides"] == {}
        model_id = model["tenant_model_id"]
        assert uuid.UUID(model_id)

        listed = await client.get(f"{MODELS}?limit=10", headers=key)
        assert listed.status_code == 200
        assert listed.json() == {"data": [model], "meta": {"next_cursor": None, "has_more": False}}
        fetched = await client.get(f"{MODELS}/{model_id}", headers=key)
        assert fetched.json() == model

        patched = await client.patch(
            f"{MODELS}/{model_id}", headers=key, json={"name": "Updated Tenant Model"}
        )
        assert patched.status_code == 200
        assert patched.json()["name"] == "Updated Tenant Model"
        assert patched.json()["description"] == "Description of the model"

        deleted = await client.delete(f"{MODELS}/{model_id}", headers=key)
        assert deleted.status_code == 204
        gone = await client.get(f"{MODELS}/{model_id}", headers=key)
        assert_problem(gone, 404, "TENANT_MODEL_NOT_FOUND")

    async def test_trailing_slash_too(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        model = await create_tenant_model(client, key)
        assert (await client.get(f"{MODELS}/", headers=key)).status_code == 200
        one = await client.get(f"{MODELS}/{model['tenant_model_id']}/", headers=key)
        assert one.status_code == 200


class TestValidation:
    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            ({}, {"name"}),
            ({"name": ""}, {"name"}),
            ({"name": "x" * 201}, {"name"}),
            ({"name": "m", "overrides": []}, {"overrides"}),
            ({"name": "m", "tenant_model_id": str(uuid.uuid4())}, {"tenant_model_id"}),
        ],
    )
    async def test_bad_create(
        self, client: httpx.AsyncClient, body: dict[str, Any], fields: set[str]
    ) -> None:
        _, key = await ready_org(client)
        response = await client.post(MODELS, headers=idempotent(key), json=body)
        assert set(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == fields

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            ({"name": None}, {"name"}),
            ({"is_enabled": None}, {"is_enabled"}),
            ({"created_at": "2020-01-01T00:00:00Z", "colour": 1}, {"created_at", "colour"}),
        ],
    )
    async def test_bad_patch(
        self, client: httpx.AsyncClient, body: dict[str, Any], fields: set[str]
    ) -> None:
        _, key = await ready_org(client)
        model = await create_tenant_model(client, key)
        response = await client.patch(
            f"{MODELS}/{model['tenant_model_id']}", headers=key, json=body
        )
        assert set(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == fields
        again = await client.get(f"{MODELS}/{model['tenant_model_id']}", headers=key)
        assert again.json() == model

    async def test_malformed_id(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        response = await client.get(f"{MODELS}/not-a-uuid", headers=key)
        assert_problem(response, 400, "VALIDATION_ERROR")


class TestIdempotency:
    async def test_key_required(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        response = await client.post(MODELS, headers=key, json={"name": "m"})
        assert_problem(response, 400, "IDEMPOTENCY_KEY_REQUIRED")
        response = await client.post(
            MODELS, headers=key | {"Idempotency-Key": "has space"}, json={}
        )
        assert response.status_code == 400

    async def test_replay_is_byte_identical(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        headers = idempotent(key)
        first = await client.post(MODELS, headers=headers, json={"name": "m", "alias": "a"})
        again = await client.post(
            MODELS, headers=headers, content=b'{ "alias": "a",  "name": "m" }'
        )
        assert again.status_code == first.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        listed = await client.get(MODELS, headers=key)
        assert len(listed.json()["data"]) == 1

    async def test_other_body_is_422(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        headers = idempotent(key)
        await client.post(MODELS, headers=headers, json={"name": "m"})
        response = await client.post(MODELS, headers=headers, json={"name": "other"})
        assert_problem(response, 422, "IDEMPOTENCY_KEY_REUSED")

    async def test_scoped_to_the_database(self, client: httpx.AsyncClient) -> None:
        (_, first), (_, second) = await ready_org(client), await ready_org(client)
        shared = "the-same-key"
        one = await client.post(MODELS, headers=idempotent(first, shared), json={"name": "m"})
        two = await client.post(MODELS, headers=idempotent(second, shared), json={"name": "m"})
        assert one.status_code == two.status_code == 201
        assert one.json()["tenant_model_id"] != two.json()["tenant_model_id"]

    async def test_fifty_at_once_create_one(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        org, key = await ready_org(client)
        headers = idempotent(key)
        responses = await asyncio.gather(
            *(client.post(MODELS, headers=headers, json={"name": "once"}) for _ in range(50))
        )
        statuses = {response.status_code for response in responses}
        assert statuses <= {201, 409}
        assert 201 in statuses
        bodies = {response.content for response in responses if response.status_code == 201}
        assert len(bodies) == 1
        for response in responses:
            if response.status_code == 409:
                assert response.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
        schema = await schema_of(engine, org.database_id)
        async with engine.connect() as connection:
            count = await connection.scalar(text(f'SELECT count(*) FROM "{schema}".tenant_models'))
        assert count == 1

    async def test_answers_expire(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        org, key = await ready_org(client)
        headers = idempotent(key)
        first = await client.post(MODELS, headers=headers, json={"name": "m"})
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE tenantry.idempotency_records "
                    "SET created_at = now() - interval '25 hours' WHERE database_id = :id"
                ),
                {"id": org.database_id},
            )
            assert await idempotency.expire(connection, timedelta(hours=24)) >= 1
        again = await client.post(MODELS, headers=headers, json={"name": "m"})
        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
        assert again.json()["tenant_model_id"] != first.json()["tenant_model_id"]


class TestPagination:
    async def test_no_row_lost_or_repeated_under_writes(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        org, key = await ready_org(client)
        schema = await schema_of(engine, org.database_id)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    f'INSERT INTO "{schema}".tenant_models (name, created_at) '
                    "SELECT 'row ' || i, now() - make_interval(secs => 2000 - i) "
                    "FROM generate_series(1, 1000) AS i"
                )
            )
            ids = await connection.execute(
                text(f'SELECT tenant_model_id FROM "{schema}".tenant_models')
            )
            originals = {str(row[0]) for row in ids}
        seen: list[str] = []
        deleted: set[str] = set()
        cursor = None
        pages = 0
        while True:
            query = f"?limit=37&cursor={cursor}" if cursor else "?limit=37"
            page = (await client.get(MODELS + query, headers=key)).json()
            seen += [row["tenant_model_id"] for row in page["data"]]
            pages += 1
            # between pages: new rows arrive, and a row not yet read is deleted
            await create_tenant_model(client, key, name=f"new {pages}")
            unread = sorted(originals - set(seen) - deleted)
            if unread:
                victim = unread[len(unread) // 2]
                assert (await client.delete(f"{MODELS}/{victim}", headers=key)).status_code == 204
                deleted.add(victim)
            if not page["meta"]["has_more"]:
                break
            cursor = page["meta"]["next_cursor"]
        assert len(seen) == len(set(seen)), "a row was repeated"
        assert originals - deleted <= set(seen), "a row was skipped"
        assert not deleted & set(seen)

    @pytest.mark.parametrize("cursor", ["abc123", "x.y", "", "A" * 600])
    async def test_foreign_cursor(self, client: httpx.AsyncClient, cursor: str) -> None:
        _, key = await ready_org(client)
        response = await client.get(f"{MODELS}?cursor={cursor}", headers=key)
        assert response.status_code == 400

    async def test_tampered_cursor(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        for index in range(3):
            await create_tenant_model(client, key, name=f"m{index}")
        page = (await client.get(f"{MODELS}?limit=1", headers=key)).json()
        cursor = page["meta"]["next_cursor"]
        payload, mac = cursor.split(".")
        flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
        response = await client.get(f"{MODELS}?cursor={flipped}.{mac}", headers=key)
        assert_problem(response, 400, "INVALID_CURSOR")

    async def test_another_databases_cursor(self, client: httpx.AsyncClient) -> None:
        """The same list of another database: its cursors are not this one's (found by
        tests/fuzz/test_bad_input.py; they used to page this database from their key)."""
        (_, mine), (_, theirs) = await ready_org(client), await ready_org(client)
        for key in (mine, theirs):
            for index in range(2):
                await create_tenant_model(client, key, name=f"m{index}")
        page = (await client.get(f"{MODELS}?limit=1", headers=theirs)).json()
        cursor = page["meta"]["next_cursor"]
        response = await client.get(f"{MODELS}?cursor={cursor}", headers=mine)
        assert_problem(response, 400, "INVALID_CURSOR")
        assert (await client.get(f"{MODELS}?cursor={cursor}", headers=theirs)).status_code == 200

    @pytest.mark.parametrize("limit", ["0", "101", "-1", "x"])
    async def test_bad_limit(self, client: httpx.AsyncClient, limit: str) -> None:
        _, key = await ready_org(client)
        response = await client.get(f"{MODELS}?limit={limit}", headers=key)
        assert_problem(response, 400, "VALIDATION_ERROR")


class TestIsolation:
    async def test_other_databases_ids_are_not_found(self, client: httpx.AsyncClient) -> None:
        (_, mine), (_, theirs) = await ready_org(client), await ready_org(client)
        their_model = await create_tenant_model(client, theirs, name="secret")
        path = f"{MODELS}/{their_model['tenant_model_id']}"
        assert_problem(await client.get(path, headers=mine), 404, "TENANT_MODEL_NOT_FOUND")
        response = await client.patch(path, headers=mine, json={"name": "mine now"})
        assert response.status_code == 404
        assert (await client.delete(path, headers=mine)).status_code == 404
        assert (await client.get(MODELS, headers=mine)).json()["data"] == []
        assert (await client.get(path, headers=theirs)).json()["name"] == "secret"

    async def test_anonymous_reads_the_template_only(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        await create_tenant_model(client, key)
        assert (await client.get(MODELS)).json()["data"] == []
        response = await client.post(MODELS, headers={"Idempotency-Key": "k"}, json={"name": "m"})
        assert_problem(response, 403, "PUBLIC_SCHEMA_READ_ONLY")

    async def test_frontend_reads_only(self, client: httpx.AsyncClient) -> None:
        org, key = await ready_org(client)
        model = await create_tenant_model(client, key)
        frontend = await make_api_key(client, org.bearer, "frontend")
        assert (await client.get(MODELS, headers=frontend)).status_code == 200
        path = f"{MODELS}/{model['tenant_model_id']}"
        for response in (
            await client.post(MODELS, headers=idempotent(frontend), json={"name": "m"}),
            await client.patch(path, headers=frontend, json={"name": "m"}),
            await client.delete(path, headers=frontend),
        ):
            assert_problem(response, 403, "ROLE_FORBIDDEN")
