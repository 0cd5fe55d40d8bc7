"""The databases API, followed as its documentation reads, and provisioning from the
template (a new schema holding a copy of the template's rows)."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.migrate import head
from tests.utils.factories import (
    DATABASE_EXAMPLE,
    PASSWORD,
    add_database,
    add_space,
    login_to,
    make_api_key,
    ready_registration,
    register,
    space_names,
    wait_for_status,
)
from tests.utils.problems import assert_problem
from tests.utils.sql import scalar, schema_exists, schema_of
from tests.utils.worker import PausedWorker

CURRENT_POOL_SCHEMAS = (
    "SELECT count(*) FROM tenantry.schemas p JOIN tenantry.schemas t ON t.name = 'public' "
    "WHERE p.kind = 'pool' AND p.template_generation = t.template_generation"
)


class TestSeedFlow:
    """Seed 004, endpoint by endpoint."""

    async def test_create_poll_current(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        response = await client.post("/v1/databases/", headers=org.bearer, json=DATABASE_EXAMPLE)
        assert response.status_code == 201
        assert set(response.json()) <= {"id", "warnings"}
        db_id = response.json()["id"]
        assert len(db_id) == 22
        headers = await login_to(client, org.email, db_id)
        assert await wait_for_status(client, headers) == {"status": "ready"}

        current = (await client.get("/v1/databases/current/", headers=headers)).json()
        assert current["id"] == db_id
        assert current["org_id"] == org.body["org_id"]
        assert current["status"] == "ready"
        assert current["counters"] == {"rating": 0, "user": 0, "item": 0}
        for field in ("name", "description", "item_id_type", "user_id_type"):
            assert current[field] == DATABASE_EXAMPLE[field]
        assert current["session_id_type"] == "uuid"
        assert current["metadata"] == {}
        assert current["core_config"] == {}

    async def test_new_database_is_pending_until_the_worker_runs(
        self, client: httpx.AsyncClient, paused_worker: PausedWorker
    ) -> None:
        org = await register(client)
        db_id, headers = await add_database(client, org)
        await asyncio.sleep(0.2)
        assert await wait_for_status(client, headers, "pending") == {"status": "pending"}
        listed = (await client.get("/v1/databases/", headers=org.bearer)).json()
        assert {d["id"]: d["status"] for d in listed["databases"]}[db_id] == "pending"
        response = await client.get("/v1/spaces", headers=headers)
        assert_problem(response, 409, "DATABASE_NOT_READY")

    @pytest.mark.usefixtures("template_rows")
    async def test_a_database_is_ready_at_once_when_the_warm_pool_has_a_schema(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        org = await register(client)
        deadline = asyncio.get_running_loop().time() + 20
        while not await scalar(engine, CURRENT_POOL_SCHEMAS):
            assert asyncio.get_running_loop().time() < deadline, "the pool was never filled"
            await asyncio.sleep(0.05)
        db_id, headers = await add_database(client, org)
        status = (await client.get("/v1/databases/current/status/", headers=headers)).json()
        assert status == {"status": "ready"}
        jobs = "SELECT count(*) FROM tenantry.jobs WHERE database_id = :id"
        assert await scalar(engine, jobs, id=db_id) == 0
        assert await space_names(client, headers) == ["demo space", "second space"]

    async def test_list_pages(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        for index in range(5):
            await add_database(client, org, name=f"db {index}")
        seen: list[str] = []
        pages = []
        page = 1
        while True:
            response = await client.get(f"/v1/databases/?page={page}&amt=2", headers=org.bearer)
            assert response.status_code == 200
            body = response.json()
            pages.append(body["has_next"])
            assert body["next_page"] == page + 1
            seen += [database["name"] for database in body["databases"]]
            if not body["has_next"]:
                break
            page += 1
        assert pages == [True, True, False]
        local_part = org.email.split("@")[0]
        assert seen == [local_part] + [f"db {index}" for index in range(5)]
        item = body["databases"][0]
        assert set(item) == {
            "id",
            "name",
            "description",
            "item_id_type",
            "user_id_type",
            "session_id_type",
            "status",
            "livemode",
        }

    async def test_without_trailing_slash(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        response = await client.get("/v1/databases?page=1&amt=1", headers=org.bearer)
        assert response.status_code == 200
        assert len(response.json()["databases"]) == 1
        response = await client.get("/v1/databases/current/status", headers=org.bearer)
        assert response.status_code == 200

    @pytest.mark.parametrize(
        "query", ["page=0", "amt=0", "amt=65", "page=-1", "amt=x", f"page={10**30}"]
    )
    async def test_bad_paging(self, client: httpx.AsyncClient, query: str) -> None:
        org = await register(client)
        response = await client.get(f"/v1/databases/?{query}", headers=org.bearer)
        assert_problem(response, 400, "VALIDATION_ERROR")

    async def test_an_unknown_query_parameter_is_refused(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        response = await client.get("/v1/databases/?filters=name:eq:x&amt=2", headers=org.bearer)
        body = assert_problem(response, 400, "VALIDATION_ERROR")
        assert body["errors"] == {"filters": ["Not a parameter of this list."]}
        assert body["error_data"]["key"] == "filters"

    async def test_duplicate_name(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        await add_database(client, org)
        response = await client.post("/v1/databases/", headers=org.bearer, json=DATABASE_EXAMPLE)
        body = assert_problem(response, 400, "DUPLICATED_DB_NAME")
        assert body["error_code"] == 42
        assert body["error_name"] == "DuplicatedError"
        assert body["error_data"] == {
            "name": "DUPLICATED_DB_NAME",
            "type": "db-metadata",
            "key": DATABASE_EXAMPLE["name"],
            "fields": body["errors"],
        }
        assert body["errors"] == {"name": [body["errors"]["name"][0]]}

    async def test_same_name_in_another_org(self, client: httpx.AsyncClient) -> None:
        first, second = await register(client), await register(client)
        await add_database(client, first)
        await add_database(client, second)

    @pytest.mark.parametrize(
        ("fields", "wrong"),
        [
            ({"item_id_type": "uint128"}, "item_id_type"),
            ({"user_id_type": "hex0"}, "user_id_type"),
            ({"session_id_type": "urlsafe65"}, "session_id_type"),
            ({"name": ""}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"metadata": [1]}, "metadata"),
            ({"extra": 1}, "extra"),
        ],
    )
    async def test_invalid_create(
        self, client: httpx.AsyncClient, fields: dict[str, Any], wrong: str
    ) -> None:
        org = await register(client)
        response = await client.post(
            "/v1/databases/", headers=org.bearer, json=DATABASE_EXAMPLE | fields
        )
        body = assert_problem(response, 400, "VALIDATION_ERROR")
        assert set(body["errors"]) == {wrong}

    @pytest.mark.parametrize(
        "fields",
        [{"name": "nul\u0000name"}, {"metadata": {"k": "\u0000"}}, {"description": "\u0000"}],
    )
    async def test_unstorable_values(
        self, client: httpx.AsyncClient, fields: dict[str, Any]
    ) -> None:
        org = await register(client)
        response = await client.post(
            "/v1/databases/", headers=org.bearer, json=DATABASE_EXAMPLE | fields
        )
        assert_problem(response, 400, "UNSTORABLE_VALUE")
        listed = await client.get("/v1/databases/", headers=org.bearer)
        assert len(listed.json()["databases"]) == 1

    @pytest.mark.parametrize(
        "id_type", ["uint32", "uint64", "int32", "int64", "uuid", "hex16", "urlsafe64", "bytes8"]
    )
    async def test_id_type_families(self, client: httpx.AsyncClient, id_type: str) -> None:
        org = await register(client)
        _, headers = await add_database(client, org, item_id_type=id_type, user_id_type=id_type)
        current = (await client.get("/v1/databases/current/", headers=headers)).json()
        assert current["item_id_type"] == current["user_id_type"] == id_type

    async def test_patch_merges(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        metadata = {"custom-int": 1, "custom-dict": {"a": 1, "b": 2}, "tags": ["x"]}
        _, headers = await add_database(client, org, metadata=metadata)
        response = await client.patch(
            "/v1/databases/current/",
            headers=headers,
            json={"description": "new", "metadata": {"custom-dict": {"a": None, "c": 3}}},
        )
        assert response.status_code == 200, response.text
        assert response.json()["description"] == "new"
        assert response.json()["metadata"] == {
            "custom-int": 1,
            "custom-dict": {"b": 2, "c": 3},
            "tags": ["x"],
        }
        response = await client.patch(
            "/v1/databases/current/",
            headers=headers,
            json={"metadata": {"tags": ["y"]}, "core_config": {"k": 1}, "preserve": True},
        )
        assert response.json()["metadata"]["tags"] == ["x", "y"]
        assert response.json()["core_config"] == {"k": 1}
        current = (await client.get("/v1/databases/current/", headers=headers)).json()
        assert current["metadata"]["tags"] == ["x", "y"]

    async def test_preview_changes_nothing(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        _, headers = await add_database(client, org, description="old", metadata={"tags": ["x"]})
        before = (await client.get("/v1/databases/current/", headers=headers)).json()
        response = await client.patch(
            "/v1/databases/current/preview/",
            headers=headers,
            json={"description": "new", "metadata": {"tags": ["y"]}, "preserve": True},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "metadata_old": {
                "description": "old",
                "core_config": before["core_config"],
                "metadata": {"tags": ["x"]},
            },
            "metadata_new": {
                "description": "new",
                "core_config": before["core_config"],
                "metadata": {"tags": ["x", "y"]},
            },
        }
        assert (await client.get("/v1/databases/current/", headers=headers)).json() == before
        refused = await client.patch(
            "/v1/databases/current/preview/", headers=headers, json={"name": "renamed"}
        )
        assert_problem(refused, 400, "VALIDATION_ERROR")

    async def test_current_needs_a_database(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        login = await client.post(
            "/v1/login/individual/",
            json={"email": org.email, "password": PASSWORD},
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        response = await client.get("/v1/databases/current/", headers=headers)
        assert_problem(response, 403, "NO_DATABASE_SELECTED")
        response = await client.get("/v1/databases/", headers=headers)
        assert response.status_code == 200


class TestDelete:
    async def test_delete_current(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        org = await register(client)
        keep_id, keep = await add_database(client, org, name="keep")
        doomed_id, doomed = await add_database(client, org, name="doomed")
        await wait_for_status(client, keep)
        await wait_for_status(client, doomed)
        doomed_key = await make_api_key(client, doomed)
        schema = await schema_of(engine, doomed_id)
        kept_schema = await schema_of(engine, keep_id)
        await add_space(client, keep, "kept")
        before = await _control_snapshot(engine, exclude={doomed_id})

        response = await client.delete("/v1/databases/current/", headers=doomed)
        assert response.status_code == 204
        for headers in (doomed, doomed_key):
            response = await client.get("/v1/databases/current/", headers=headers)
            assert_problem(response, 401, "INVALID_CREDENTIALS")
        for _ in range(500):
            if not await schema_exists(engine, schema):
                break
            await asyncio.sleep(0.02)
        assert not await schema_exists(engine, schema)
        assert await schema_exists(engine, kept_schema)
        assert await space_names(client, keep) == ["kept"]
        assert await _control_snapshot(engine, exclude={doomed_id}) == before
        assert await scalar(engine, "SELECT count(*) FROM public.spaces") == 0

    async def test_delete_pending_database(
        self, client: httpx.AsyncClient, engine: AsyncEngine, app: FastAPI
    ) -> None:
        org = await register(client)
        db_id, headers = await add_database(client, org, name="short-lived")
        response = await client.delete("/v1/databases/current/", headers=headers)
        assert response.status_code == 204
        jobs = "SELECT count(*) FROM tenantry.jobs WHERE database_id = :id"
        assert await scalar(engine, jobs, id=db_id) == 0


async def _control_snapshot(engine: AsyncEngine, *, exclude: set[str]) -> dict[str, Any]:
    """Every control table's rows that do not belong to the excluded databases."""
    async with engine.connect() as connection:
        databases = await connection.execute(
            text(
                "SELECT id, name, status, schema_name FROM tenantry.databases "
                "WHERE NOT id = ANY(:ids) ORDER BY id"
            ),
            {"ids": list(exclude)},
        )
        keys = await connection.execute(
            text(
                "SELECT id, revoked_at FROM tenantry.api_keys "
                "WHERE NOT database_id = ANY(:ids) ORDER BY id"
            ),
            {"ids": list(exclude)},
        )
        accounts = await connection.execute(text("SELECT id FROM tenantry.accounts ORDER BY id"))
        return {
            "databases": databases.all(),
            "keys": keys.all(),
            "accounts": accounts.all(),
        }


@pytest.fixture
async def template_rows(engine: AsyncEngine) -> Any:
    """Demo rows in the template, removed after the test."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO public.spaces (name, metadata) VALUES "
                "('demo space', '{\"demo\": true}'), ('second space', '{}')"
            )
        )
        await connection.execute(
            text("INSERT INTO public.tenant_models (name, alias) VALUES ('demo model', 'demo')")
        )
    yield
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM public.spaces"))
        await connection.execute(text("DELETE FROM public.tenant_models"))


class TestRegistrationCopiesTheTemplate:
    """Seed 003: a schema named from the email, holding a copy of the template's rows."""

    @pytest.mark.usefixtures("template_rows")
    async def test_copy(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        local = f"jane.{uuid.uuid4().hex[:6]}"
        org = await ready_registration(client, local)
        headers = org.key
        schema = await schema_of(engine, org.database_id)
        assert schema.startswith(f"{local.replace('.', '_')}_")
        assert await space_names(client, headers) == ["demo space", "second space"]
        template_ids = "SELECT array_agg(space_id ORDER BY space_id) FROM {}.spaces"
        assert await scalar(engine, template_ids.format(schema)) == await scalar(
            engine, template_ids.format("public")
        )
        models = f'SELECT alias FROM "{schema}".tenant_models'
        assert await scalar(engine, models) == "demo"

        await add_space(client, headers, "mine")
        await _run(engine, f"DELETE FROM \"{schema}\".spaces WHERE name = 'demo space'")
        assert await space_names(client, headers) == ["mine", "second space"]
        assert await space_names(client) == ["demo space", "second space"]


async def _run(engine: AsyncEngine, sql: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql))


class TestFailures:
    async def test_a_step_that_keeps_failing_marks_the_database_failed(
        self, client: httpx.AsyncClient, engine: AsyncEngine, paused_worker: PausedWorker
    ) -> None:
        org = await register(client)
        db_id, headers = await add_database(client, org)
        schema = await schema_of(engine, db_id)
        await _run(engine, f'CREATE SCHEMA "{schema}"')  # in the way of the new schema
        try:
            paused_worker.worker.max_attempts = 2
            paused_worker.worker.backoff = lambda attempts: timedelta(0)  # type: ignore[method-assign]
            paused_worker.resume()
            status = await wait_for_status(client, headers, "failed")
        finally:
            await _run(engine, f'DROP SCHEMA "{schema}"')
        assert "already exists" in status["failure_reason"]
        assert status["warnings"] == [status["failure_reason"]]
        response = await client.get("/v1/spaces", headers=headers)
        assert_problem(response, 409, "DATABASE_NOT_READY")
        jobs = "SELECT count(*) FROM tenantry.jobs WHERE database_id = :id"
        assert await scalar(engine, jobs, id=db_id) == 0
        assert (await client.delete("/v1/databases/current/", headers=headers)).status_code == 204

    async def test_template_behind_keeps_databases_pending(
        self, client: httpx.AsyncClient, engine: AsyncEngine, paused_worker: PausedWorker
    ) -> None:
        org = await register(client)
        _, headers = await add_database(client, org)
        registry = "UPDATE tenantry.schemas SET version = :v WHERE name = 'public'"
        async with engine.begin() as connection:
            await connection.execute(text(registry), {"v": "0000"})
        try:
            paused_worker.resume()
            await asyncio.sleep(0.5)
            assert (await wait_for_status(client, headers, "pending"))["status"] == "pending"
        finally:
            async with engine.begin() as connection:
                await connection.execute(text(registry), {"v": head("tenant")})
        paused_worker.worker._wake.set()
        await wait_for_status(client, headers, within=60)
