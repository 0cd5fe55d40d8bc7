"""Registrations per client address: refused past the limit before anything is created,
counted in the store of the API keys' rate limits (Redis when configured)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.app import create_app
from tenantry.config import Settings
from tests.utils.factories import PASSWORD
from tests.utils.problems import assert_problem
from tests.utils.redis import REDIS_URL, redis_answers
from tests.utils.settings import make_settings

COUNTS = text(
    "SELECT (SELECT count(*) FROM tenantry.organizations), "
    "(SELECT count(*) FROM tenantry.accounts), (SELECT count(*) FROM tenantry.databases), "
    "(SELECT count(*) FROM tenantry.api_keys)"
)


@asynccontextmanager
async def served(settings: Settings, **overrides: object) -> AsyncIterator[FastAPI]:
    """An app of its own (fresh counts) on the suite's database, its worker off."""
    app = create_app(settings.model_copy(update={"worker": False, **overrides}))
    async with app.router.lifespan_context(app):
        yield app


def client_of(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 123))
    return httpx.AsyncClient(transport=transport, base_url="http://tenantry.test")


async def register(client: httpx.AsyncClient, email: str | None = None) -> httpx.Response:
    email = email or f"limited.{uuid.uuid4().hex[:8]}@example.com"
    return await client.post("/v1/register/", json={"email": email, "password": PASSWORD})


async def counts(engine: AsyncEngine) -> tuple[int, ...]:
    async with engine.connect() as connection:
        return tuple((await connection.execute(COUNTS)).one())


class TestLimit:
    async def test_past_the_limit_nothing_is_created(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        async with served(settings, registration_limit="3/minute") as app:
            async with client_of(app) as client:
                for _ in range(3):
                    assert (await register(client)).status_code == 201
                before = await counts(engine)
                refused = await register(client, email := f"refused.{uuid.uuid4().hex[:8]}@x.io")
            body = assert_problem(refused, 429, "REGISTRATION_THROTTLED")
            retry_after = int(refused.headers["Retry-After"])
            assert 1 <= retry_after <= 60
            assert body["error_data"]["retry_after"] == retry_after
            assert await counts(engine) == before
            async with engine.connect() as connection:
                accounts = text("SELECT count(*) FROM tenantry.accounts WHERE email = :email")
                assert (await connection.execute(accounts, {"email": email})).scalar() == 0
            async with client_of(app, "192.0.2.7") as elsewhere:
                assert (await register(elsewhere)).status_code == 201

    async def test_invalid_registrations_count_too(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        async with (
            served(settings, registration_limit="2/minute") as app,
            client_of(app) as client,
        ):
            invalid = await client.post("/v1/register/", json={"email": "nope"})
            assert invalid.status_code == 400
            assert (await register(client)).status_code == 201
            assert_problem(await register(client), 429, "REGISTRATION_THROTTLED")

    async def test_none_disables_the_limit(self, settings: Settings, engine: AsyncEngine) -> None:
        async with served(settings, registration_limit=None) as app:
            assert app.state.registration_limiter is None
            async with client_of(app) as client:
                assert (await register(client)).status_code == 201


class TestRedis:
    async def test_two_apps_share_one_count(self, settings: Settings, engine: AsyncEngine) -> None:
        if not redis_answers():
            pytest.skip("no Redis answers PING on 127.0.0.1:6379")
        shared = {
            "registration_limit": "3/minute",
            "redis_url": REDIS_URL,
            "redis_prefix": f"tenantry-test-{uuid.uuid4().hex}",
        }
        async with (
            served(settings, **shared) as first,
            served(settings, **shared) as second,
            client_of(first) as one,
            client_of(second) as other,
        ):
            answers = [await register(client) for client in (one, other, one, other)]
        assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
        assert_problem(answers[-1], 429, "REGISTRATION_THROTTLED")


class TestSettings:
    def test_default(self) -> None:
        assert Settings.model_fields["registration_limit"].default == "10/hour"

    @pytest.mark.parametrize("notation", ["none", ""])
    def test_no_limit(self, database_url: str, tmp_path: Path, notation: str) -> None:
        settings = make_settings(database_url, tmp_path, registration_limit=notation)
        assert settings.registration_limit is None

    def test_bad_notation_is_a_settings_error(self, database_url: str, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="registration_limit"):
            make_settings(database_url, tmp_path, registration_limit="lots")


async def test_openapi_names_the_registration_429(client: httpx.AsyncClient) -> None:
    responses = (await client.get("/openapi.json")).json()["paths"]["/v1/register/"]["post"][
        "responses"
    ]
    refused = responses["429"]
    assert "REGISTRATION_THROTTLED" in refused["description"]
    assert "application/problem+json" in refused["content"]
    assert "Retry-After" in refused["headers"]
