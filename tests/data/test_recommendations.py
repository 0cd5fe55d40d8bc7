"""Recommendations through the API, past what the client's suite covers: a second task while
one waits, training by itself once enough new data has arrived, a failed training that leaves
the previous model serving, the interaction ratings' routes, deleted items never
recommended, and query parameters a route does not declare refused."""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.data.recommendations import training
from tenantry.db.sessions import in_schema
from tests.utils.factories import add_to_catalog, ready_database
from tests.utils.problems import assert_problem
from tests.utils.sql import scalar, schema_of

RETRAIN = "/v1/tasks/ml_model_retrain/"
RECENTS = "/v1/tasks/ml_model_retrain/recents/"
RATINGS = "/v1/ratings-bulk/"
MAPPING = "/v1/interaction-ratings/"
TRAINED_WITHIN = 120.0  # seconds a small training may take on a loaded machine
ITEMS = 40
USERS = 30


def planted_ratings(users: int = USERS, items: int = ITEMS) -> list[dict[str, Any]]:
    """Each user rates 10 items of its half of the catalog."""
    half = items // 2
    return [
        {"user_id": u, "item_id": (u % 2) * half + (u + n) % half, "rating": 8, "timestamp": n}
        for u in range(users)
        for n in range(10)
    ]


async def database_id(client: httpx.AsyncClient, key: dict[str, str]) -> str:
    response = await client.get("/v1/databases/current/", headers=key)
    assert response.status_code == 200, response.text
    found: str = response.json()["id"]
    return found


async def catalog(
    client: httpx.AsyncClient, role: str = "backend", users: int = USERS
) -> dict[str, str]:
    key = await ready_database(client, role=role)
    await add_to_catalog(client, key, "item", list(range(ITEMS)))
    await add_to_catalog(client, key, "user", list(range(users)))
    return key


async def rate(client: httpx.AsyncClient, key: dict[str, str], rows: list[dict[str, Any]]) -> None:
    response = await client.put(RATINGS, headers=key, json={"ratings": rows})
    assert response.status_code == 204, response.text


async def latest_task(client: httpx.AsyncClient, key: dict[str, str]) -> dict[str, Any] | None:
    response = await client.get(RECENTS, headers=key)
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()["tasks"]
    return tasks[0] if tasks else None


async def settled(client: httpx.AsyncClient, key: dict[str, str]) -> dict[str, Any]:
    """The latest task once it has ended (COMPLETED or FAILED)."""
    deadline = asyncio.get_running_loop().time() + TRAINED_WITHIN
    while True:
        task = await latest_task(client, key)
        if task is not None and task["status"] in ("COMPLETED", "FAILED"):
            return task
        assert asyncio.get_running_loop().time() < deadline, f"never ended: {task}"
        await asyncio.sleep(0.1)


async def trained(client: httpx.AsyncClient, key: dict[str, str]) -> None:
    response = await client.post(RETRAIN, headers=key)
    assert response.status_code == 201, response.text
    task = await settled(client, key)
    assert task["status"] == "COMPLETED", task


async def similar(client: httpx.AsyncClient, key: dict[str, str], item: int) -> list[Any]:
    response = await client.get(f"/v1/recommendation/items/{item}/items/?amt=64", headers=key)
    assert response.status_code == 200, response.text
    found: list[Any] = response.json()["items_id"]
    return found


class TestTasks:
    async def test_a_second_task_while_one_waits_is_refused(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await ready_database(client)
        schema = await schema_of(engine, await database_id(client, key))
        async with engine.begin() as connection:  # a task waits, as the trigger records one
            await connection.exec_driver_sql(
                f'INSERT INTO "{schema}".reco_tasks (name, status, progress, start_time) '
                "VALUES ('ml_model_retrain', 'REQUEST_SENT', 'queued', 1)"
            )
        body = assert_problem(await client.post(RETRAIN, headers=key), 400, "TASK_ALREADY_RUNNING")
        assert body["error_name"] == "DuplicatedError"
        assert body["error_data"]["name"] == "TASK_ALREADY_RUNNING"
        tasks = f'SELECT count(*) FROM "{schema}".reco_tasks'
        assert await scalar(engine, tasks) == 1
        other = await client.post("/v1/tasks/ml_new_users/", headers=key)  # another name
        assert other.status_code == 201, other.text

    async def test_an_unknown_task_is_refused(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        assert_problem(
            await client.post("/v1/tasks/make_coffee/", headers=key), 400, "WRONG_DATA_TYPE"
        )


class TestTrainingByItself:
    async def test_enough_new_ratings_queue_a_training(self, client: httpx.AsyncClient) -> None:
        key = await catalog(client, users=101)
        ratings = planted_ratings(users=101)  # 1,010
        await rate(client, key, ratings[:999])
        assert await latest_task(client, key) is None  # 999 new: fewer than 1,000
        await rate(client, key, ratings[:999])  # the same again: nothing new
        assert await latest_task(client, key) is None
        await rate(client, key, ratings[999:])
        task = await settled(client, key)
        assert task["status"] == "COMPLETED", task
        assert await similar(client, key, 1)
        await rate(client, key, [{"user_id": 0, "item_id": 30, "rating": 5, "timestamp": 9}])
        assert (await latest_task(client, key)) == task  # 1 new: fewer than 1,000


class TestFailure:
    @pytest.fixture
    def one_attempt(self, app: FastAPI) -> Iterator[None]:
        worker = app.state.worker
        attempts = worker.max_attempts
        worker.max_attempts = 1
        yield
        worker.max_attempts = attempts

    async def test_a_failed_training_keeps_the_previous_model(
        self, client: httpx.AsyncClient, engine: AsyncEngine, one_attempt: None
    ) -> None:
        key = await catalog(client)
        await rate(client, key, planted_ratings())
        await trained(client, key)
        before = await similar(client, key, 1)
        schema = await schema_of(engine, await database_id(client, key))
        async with engine.begin() as connection:  # the training's read fails from now on
            await connection.exec_driver_sql(
                f'ALTER TABLE "{schema}".interaction_ratings RENAME TO gone'
            )
        response = await client.post(RETRAIN, headers=key)
        assert response.status_code == 201, response.text
        task = await settled(client, key)
        assert task["status"] == "FAILED"
        assert "interaction_ratings" in task["progress"]
        assert await similar(client, key, 1) == before
        version = f'SELECT max(version) FROM "{schema}".reco_models'
        assert await scalar(engine, version) == 1


class TestInteractionRatings:
    async def test_defaults_then_set_then_removed(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, role="manager")
        listed = (await client.get(MAPPING, headers=key)).json()
        assert listed["other_types_rating"] == 7.0
        assert {"interaction_type": "purchase", "rating": 10.0, "default": True} in listed[
            "interaction_types"
        ]
        response = await client.put(f"{MAPPING}wishlist/", headers=key, json={"rating": 9})
        assert response.status_code == 200, response.text
        assert response.json() == {"interaction_type": "wishlist", "rating": 9.0, "default": False}
        response = await client.put(f"{MAPPING}view/", headers=key, json={"rating": 2.5})
        assert response.status_code == 200, response.text
        rows = (await client.get(MAPPING, headers=key)).json()["interaction_types"]
        assert {"interaction_type": "view", "rating": 2.5, "default": False} in rows
        assert {"interaction_type": "wishlist", "rating": 9.0, "default": False} in rows
        assert (await client.delete(f"{MAPPING}view/", headers=key)).status_code == 204
        rows = (await client.get(MAPPING, headers=key)).json()["interaction_types"]
        assert {"interaction_type": "view", "rating": 6.0, "default": True} in rows
        gone = await client.delete(f"{MAPPING}view/", headers=key)
        assert_problem(gone, 404, "INTERACTION_RATING_NOT_FOUND")

    @pytest.mark.parametrize(
        "body", [{"rating": 0}, {"rating": 11}, {"rating": "high"}, {}, {"rating": 5, "x": 1}]
    )
    async def test_bad_ratings_are_refused(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        key = await ready_database(client, role="manager")
        response = await client.put(f"{MAPPING}view/", headers=key, json=body)
        assert_problem(response, 400, "VALIDATION_ERROR")
        rows = (await client.get(MAPPING, headers=key)).json()["interaction_types"]
        assert {"interaction_type": "view", "rating": 6.0, "default": True} in rows

    async def test_a_type_too_long_is_refused(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, role="manager")
        response = await client.put(f"{MAPPING}{'v' * 65}/", headers=key, json={"rating": 5})
        assert_problem(response, 400, "VALIDATION_ERROR")

    async def test_a_backend_key_reads_but_does_not_write(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        assert (await client.get(MAPPING, headers=key)).status_code == 200
        response = await client.put(f"{MAPPING}view/", headers=key, json={"rating": 5})
        assert response.status_code == 403, response.text

    async def test_training_reads_the_database_s_ratings(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key = await catalog(client, role="manager")
        response = await client.put(f"{MAPPING}glance/", headers=key, json={"rating": 1})
        assert response.status_code == 200, response.text
        interactions = [
            {"user_id": 0, "item_id": 0, "interaction_type": "glance", "timestamp": 1.0},
            {"user_id": 0, "item_id": 1, "interaction_type": "purchase", "timestamp": 2.0},
            {"user_id": 0, "item_id": 2, "interaction_type": "dance", "timestamp": 3.0},
        ]
        response = await client.post(
            "/v1/interactions-bulk/", headers=key, json={"interactions": interactions}
        )
        assert response.status_code == 201, response.text
        schema = await schema_of(engine, await database_id(client, key))
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            rows = await driver.fetch(in_schema(training.READ, schema), *training._defaults())
        read = {int.from_bytes(row["item_id"], "big"): row["value"] for row in rows}
        assert read == {0: 1.0, 1: 10.0, 2: training.DEFAULT_RATING}


class TestDeletedItems:
    async def test_are_never_recommended(self, client: httpx.AsyncClient) -> None:
        key = await catalog(client)
        await rate(client, key, planted_ratings())
        await trained(client, key)
        before = await similar(client, key, 1)
        gone = before[0]
        response = await client.delete(f"/v1/items/{gone}/", headers=key)
        assert response.status_code == 204, response.text
        after = await similar(client, key, 1)
        assert gone not in after
        assert after == [item for item in before if item != gone]
        for path in (
            "/v1/recommendation/users/3/items/",
            "/v1/recommendation/precomputed/items/1/items/",
        ):
            answer = await client.get(path, headers=key)
            assert answer.status_code == 200, answer.text
            assert gone not in answer.json()["items_id"]


class TestSessions:
    async def test_a_session_id_is_read_by_the_session_id_type(
        self, client: httpx.AsyncClient
    ) -> None:
        key = await catalog(client)
        await rate(client, key, planted_ratings())
        await trained(client, key)
        path = "/v1/recommendation/sessions/items/"
        ratings = [{"item_id": 1, "rating": 9}]
        session = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
        body = {"ratings": ratings, "session_id": session.upper(), "amt": 5}
        answer = await client.post(path, headers=key, json=body)
        assert answer.status_code == 200, answer.text
        same = await client.post(path, headers=key, json=body | {"session_id": session})
        assert same.json() == answer.json()
        refused = await client.post(path, headers=key, json=body | {"session_id": "sess-1"})
        assert "session_id" in assert_problem(refused, 400, "VALIDATION_ERROR")["errors"]


class TestQueryParameters:
    @pytest.mark.parametrize(
        "path",
        [
            "/v1/recommendation/items/1/items/?amt=3&colour=red",
            "/v1/recommendation/users/1/items/?fliters=a:eq:1",
            "/v1/recommendation/precomputed/items/1/items/?colour=red",
            "/v1/recommendation/precomputed/users/1/items/?colour=red",
        ],
    )
    async def test_unknown_ones_are_refused(self, client: httpx.AsyncClient, path: str) -> None:
        key = await catalog(client)
        body = assert_problem(await client.get(path, headers=key), 400, "VALIDATION_ERROR")
        unknown = path.split("&")[-1].split("?")[-1].split("=")[0]
        assert list(body["errors"]) == [unknown]
