"""Requests per API key: counted on both paths, refused past the limit before anything
runs, announced in the headers; tokens and anonymous callers are not counted."""

import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from limits import parse
from pydantic import ValidationError

from tenantry.auth.rate_limits import RateLimiter, counters_for, rate_limiter
from tenantry.config import Settings
from tenantry.data.spaces.endpoints import get_space, list_spaces
from tests.utils.factories import (
    MODELS,
    SPACES,
    add_space,
    login_to,
    make_api_key,
    ready_org,
    space_names,
)
from tests.utils.hot import Served
from tests.utils.problems import assert_problem
from tests.utils.redis import REDIS_URL, redis_answers
from tests.utils.settings import make_settings

HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
X_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Window",
)

SetLimit = Callable[..., None]


@pytest.fixture
def set_limit(app: FastAPI, settings: Settings) -> Iterator[SetLimit]:
    """Give the app a fresh limiter of `notation` (with fresh counts) for the test."""
    original = app.state.rate_limiter

    def set_to(notation: str, **overrides: object) -> None:
        limited = settings.model_copy(update={"rate_limit": notation, **overrides})
        app.state.rate_limiter = rate_limiter(limited)

    yield set_to
    app.state.rate_limiter = original


def assert_usage(response: httpx.Response, limit: int, remaining: int) -> None:
    headers = response.headers
    for name in (HEADERS[0], X_HEADERS[0]):
        assert headers[name] == str(limit), name
    for name in (HEADERS[1], X_HEADERS[1]):
        assert headers[name] == str(remaining), name
    assert headers["RateLimit-Reset"] == headers["X-RateLimit-Reset"]
    assert 1 <= int(headers["RateLimit-Reset"]) <= 60
    assert headers["X-RateLimit-Window"] == "60"


def assert_refused(response: httpx.Response, limit: int) -> None:
    body = assert_problem(response, 429, "RATE_LIMIT_EXCEEDED")
    assert (body["error_code"], body["error_name"]) == (2, "TooManyRequests")
    assert_usage(response, limit, 0)
    assert response.headers.get_list("RateLimit-Limit") == [str(limit)]  # not twice
    retry_after = int(response.headers["Retry-After"])
    assert retry_after == int(response.headers["RateLimit-Reset"])
    assert body["error_data"]["retry_after"] == retry_after


def assert_unlimited(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert not [name for name in (*HEADERS, *X_HEADERS) if name in response.headers]


class TestLimit:
    async def test_the_request_past_the_limit_is_refused(
        self, client: httpx.AsyncClient, set_limit: SetLimit
    ) -> None:
        _, key = await ready_org(client)
        set_limit("3/minute")
        for remaining in (2, 1, 0):
            response = await client.get(MODELS, headers=key)
            assert response.status_code == 200
            assert_usage(response, 3, remaining)
        assert_refused(await client.get(MODELS, headers=key), 3)
        assert_refused(await client.get(MODELS, headers={"Api-Key": key["X-API-Key"]}), 3)

    async def test_a_refused_write_writes_nothing(
        self, client: httpx.AsyncClient, set_limit: SetLimit
    ) -> None:
        org, key = await ready_org(client)
        set_limit("2/minute")
        assert (await add_space(client, key, "allowed")).status_code == 201
        assert (await client.get(SPACES, headers=key)).status_code == 200
        assert_refused(await add_space(client, key, "refused"), 2)
        bearer = await login_to(client, org.email, org.database_id)
        assert await space_names(client, bearer) == ["allowed"]

    async def test_hot_reads_are_counted_and_refused(
        self, client: httpx.AsyncClient, app: FastAPI, set_limit: SetLimit
    ) -> None:
        _, key = await ready_org(client)
        space_id = (await add_space(client, key)).json()["space_id"]
        set_limit("3/minute")
        one, listed = Served(app, get_space), Served(app, list_spaces)
        assert_usage(await client.get(f"{SPACES}/{space_id}", headers=key), 3, 2)
        assert_usage(await client.get(SPACES, headers=key), 3, 1)
        assert_usage(await client.get(f"{SPACES}/{space_id}", headers=key), 3, 0)
        assert (one.count, listed.count) == (2, 1)
        assert_refused(await client.get(f"{SPACES}/{space_id}", headers=key), 3)
        assert_refused(await client.get(SPACES, headers=key), 3)
        assert (one.count, listed.count) == (2, 1)

    async def test_a_hot_read_left_to_the_application_counts_once(
        self, client: httpx.AsyncClient, set_limit: SetLimit
    ) -> None:
        _, key = await ready_org(client)
        set_limit("3/minute")
        missing = await client.get(f"{SPACES}/{uuid.uuid4()}", headers=key)
        assert_problem(missing, 404, "SPACE_NOT_FOUND")
        assert_usage(missing, 3, 2)

    async def test_each_key_has_its_own_budget(
        self, client: httpx.AsyncClient, set_limit: SetLimit
    ) -> None:
        org, key = await ready_org(client)
        other = await make_api_key(client, org.bearer)
        set_limit("1/minute")
        assert_usage(await client.get(MODELS, headers=key), 1, 0)
        assert_refused(await client.get(MODELS, headers=key), 1)
        assert_usage(await client.get(MODELS, headers=other), 1, 0)
        assert_refused(await client.get(MODELS, headers=other), 1)

    async def test_tokens_and_anonymous_callers_are_not_counted(
        self, client: httpx.AsyncClient, set_limit: SetLimit
    ) -> None:
        org, _ = await ready_org(client)
        bearer = await login_to(client, org.email, org.database_id)
        set_limit("1/minute")
        for _ in range(3):
            assert_unlimited(await client.get(SPACES, headers=bearer))
            assert_unlimited(await client.get(SPACES))

    async def test_none_disables_the_limit(
        self, client: httpx.AsyncClient, set_limit: SetLimit
    ) -> None:
        _, key = await ready_org(client)
        set_limit("none")
        for _ in range(5):
            assert_unlimited(await client.get(SPACES, headers=key))


class TestUnavailableStorage:
    async def test_requests_go_through_with_one_warning(
        self,
        client: httpx.AsyncClient,
        set_limit: SetLimit,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        _, key = await ready_org(client)
        set_limit("1/minute", redis_url="redis://127.0.0.1:1")  # nothing listens there
        with caplog.at_level(logging.WARNING, logger="tenantry.rate_limits"):
            for _ in range(3):
                assert_unlimited(await client.get(SPACES, headers=key))
        warnings = [r for r in caplog.records if r.name == "tenantry.rate_limits"]
        assert [r.getMessage() for r in warnings] == [
            "rate limits unavailable: requests are not limited"
        ]


class TestRedis:
    async def test_two_limiters_share_one_window(self) -> None:
        if not redis_answers():
            pytest.skip("no Redis answers PING on 127.0.0.1:6379")
        prefix = f"tenantry-test-{uuid.uuid4().hex}"
        first, second = (
            RateLimiter(parse("3/minute"), counters_for(REDIS_URL, prefix=prefix)) for _ in range(2)
        )
        usages = [await limiter.hit("key") for limiter in (first, second, first, second)]
        assert [(u.remaining, u.allowed) for u in usages if u is not None] == [
            (2, True),
            (1, True),
            (0, True),
            (0, False),
        ]
        assert all(u is not None and 58 <= u.reset <= 60 for u in usages)
        assert await second.hit("another key") is not None


class TestSettings:
    @pytest.mark.parametrize("notation", ["none", "None", ""])
    def test_no_limit(self, database_url: str, tmp_path: Path, notation: str) -> None:
        settings = make_settings(database_url, tmp_path, rate_limit=notation)
        assert settings.rate_limit is None
        assert rate_limiter(settings) is None

    def test_default(self, database_url: str, tmp_path: Path) -> None:
        limiter = rate_limiter(make_settings(database_url, tmp_path))
        assert limiter is not None
        assert (limiter.item.amount, limiter.window) == (1200, 60)

    @pytest.mark.parametrize("notation", ["lots", "12/fortnight", "0/minute"])
    def test_bad_notation_is_a_settings_error(
        self, database_url: str, tmp_path: Path, notation: str
    ) -> None:
        with pytest.raises(ValidationError, match="rate_limit"):
            make_settings(database_url, tmp_path, rate_limit=notation)

    def test_redis_url_scheme(self, database_url: str, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="redis_url"):
            make_settings(database_url, tmp_path, redis_url="http://127.0.0.1:6379")


async def test_openapi_names_429_where_a_key_is_taken(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    refused = paths[SPACES]["get"]["responses"]["429"]
    assert "application/problem+json" in refused["content"]
    assert {"Retry-After", "RateLimit-Remaining"} <= set(refused["headers"])
    assert "429" in paths["/v1/whoami/"]["get"]["responses"]
    assert "429" not in paths["/healthz"]["get"]["responses"]
    registration = paths["/v1/register/"]["post"]["responses"]["429"]  # its own limit's
    assert "REGISTRATION_THROTTLED" in registration["description"]
