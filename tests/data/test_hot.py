"""The hot reads answer exactly as the application does, and leave everything else to it."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.data.documents.endpoints import list_tenant_ids
from tenantry.data.spaces.endpoints import (
    create_space,
    delete_space,
    get_space,
    list_spaces,
    update_space,
)
from tests.utils.factories import SPACES, login_to, ready_org
from tests.utils.factories import create_space as create
from tests.utils.hot import Served
from tests.utils.problems import assert_problem


@pytest.fixture
async def org(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    """An API key and a bearer token of the same database, with three spaces."""
    registration, key = await ready_org(client)
    for name in ("a", "b", "c"):
        await create(client, key, name=name, metadata={"n": name})
    bearer = await login_to(client, registration.email, registration.body["database"]["id"])
    return key, bearer


class TestSameAnswers:
    async def test_one_space(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        org: tuple[dict[str, str], dict[str, str]],
    ) -> None:
        key, bearer = org
        space_id = (await client.get(SPACES, headers=key)).json()["data"][0]["space_id"]
        served = Served(app, get_space)
        hot = await client.get(f"{SPACES}/{space_id}", headers=key)
        assert served.count == 1
        full = await client.get(f"{SPACES}/{space_id}", headers=bearer)  # not a hot request
        assert served.count == 1
        assert hot.status_code == full.status_code == 200
        assert hot.content == full.content
        assert hot.headers["content-type"] == full.headers["content-type"]

    async def test_pages(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        org: tuple[dict[str, str], dict[str, str]],
    ) -> None:
        key, bearer = org
        served = Served(app, list_spaces)
        hot = await client.get(f"{SPACES}?limit=2", headers=key)
        full = await client.get(f"{SPACES}?limit=2", headers=bearer)
        assert served.count == 1
        assert hot.content == full.content
        cursor = hot.json()["meta"]["next_cursor"]
        hot = await client.get(SPACES, params={"limit": 2, "cursor": cursor}, headers=key)
        full = await client.get(SPACES, params={"limit": 2, "cursor": cursor}, headers=bearer)
        assert served.count == 2
        assert hot.content == full.content
        assert [space["name"] for space in hot.json()["data"]] == ["c"]


class TestLeftToTheApplication:
    @pytest.mark.parametrize(
        ("query", "status", "code"),
        [
            ("limit=0", 400, "VALIDATION_ERROR"),
            ("limit=101", 400, "VALIDATION_ERROR"),
            ("limit=ten", 400, "VALIDATION_ERROR"),
            ("cursor=forged.cursor", 400, "INVALID_CURSOR"),
            (f"cursor={'x' * 600}", 400, "VALIDATION_ERROR"),
        ],
    )
    async def test_bad_page_parameters(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        org: tuple[dict[str, str], dict[str, str]],
        query: str,
        status: int,
        code: str,
    ) -> None:
        key, _ = org
        served = Served(app, list_spaces)
        assert_problem(await client.get(f"{SPACES}?{query}", headers=key), status, code)
        assert served.count == 0

    async def test_errors(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        org: tuple[dict[str, str], dict[str, str]],
    ) -> None:
        key, _ = org
        served = Served(app, get_space)
        missing = await client.get(f"{SPACES}/{uuid.uuid4()}", headers=key)
        assert_problem(missing, 404, "SPACE_NOT_FOUND")
        assert_problem(
            await client.get(f"{SPACES}/not-a-uuid", headers=key), 400, "VALIDATION_ERROR"
        )
        unknown = {"X-API-Key": "tnt_" + "A" * 46}
        assert_problem(
            await client.get(f"{SPACES}/{uuid.uuid4()}", headers=unknown),
            401,
            "INVALID_CREDENTIALS",
        )
        assert served.count == 0

    async def test_a_space_id_is_read_as_the_route_reads_it(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        org: tuple[dict[str, str], dict[str, str]],
    ) -> None:
        key, bearer = org
        space_id = (await client.get(SPACES, headers=key)).json()["data"][0]["space_id"]
        digits = space_id.replace("-", "")
        for spelling in (f"{digits[:4]}-{digits[4:]}", f"{digits[:-2]}_{digits[-1]}"):
            hot = await client.get(f"{SPACES}/{spelling}", headers=key)
            full = await client.get(f"{SPACES}/{spelling}", headers=bearer)
            assert hot.status_code == full.status_code == 400, spelling
            assert hot.json()["code"] == full.json()["code"] == "VALIDATION_ERROR"

    async def test_other_credentials(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        org: tuple[dict[str, str], dict[str, str]],
    ) -> None:
        key, bearer = org
        served = Served(app, list_spaces)
        other_key = {"Api-Key": "tnt_" + "B" * 46}
        assert_problem(
            await client.get(SPACES, headers=key | other_key), 401, "INVALID_CREDENTIALS"
        )
        anonymous = await client.get(SPACES)  # the template
        assert anonymous.status_code == 200
        assert {s["name"] for s in anonymous.json()["data"]}.isdisjoint({"a", "b", "c"})
        assert (await client.get(SPACES, headers=key | bearer)).status_code == 200
        assert served.count == 0


def _answer(response: httpx.Response) -> tuple[int, object]:
    """Status and body, less what differs between any two requests (the request's id)."""
    if response.headers.get("content-type", "").endswith("json"):
        body = response.json()
        if isinstance(body, dict):
            body.pop("request_id", None)
        return response.status_code, body
    return response.status_code, response.content


Both = Callable[..., tuple[httpx.Response, httpx.Response]]


@pytest.fixture
async def both(
    client: httpx.AsyncClient, app: FastAPI, org: tuple[dict[str, str], dict[str, str]]
) -> AsyncIterator[Both]:
    """`both(method, path, **request)`: the request sent with the key, then with the token
    of the same database, from Hypothesis's thread; the two responses. Nothing is counted
    against the key's rate limit meanwhile."""
    key, bearer = org
    loop = asyncio.get_running_loop()
    limiter, app.state.rate_limiter = app.state.rate_limiter, None

    def send(method: str, path: str, **request: Any) -> tuple[httpx.Response, httpx.Response]:
        async def sent() -> tuple[httpx.Response, httpx.Response]:
            headers = request.pop("headers", {})
            hot = await client.request(method, path, headers=headers | key, **request)
            full = await client.request(method, path, headers=headers | bearer, **request)
            return hot, full

        return asyncio.run_coroutine_threadsafe(sent(), loop).result(timeout=30)

    yield send
    app.state.rate_limiter = limiter


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
DIGITS = st.integers(-5, 200).map(str)
# Spellings a lenient reader takes for a number: an Arabic-Indic five, a fullwidth ten.
LENIENT = ["\u0665", "\uff11\uff10", " 5", "5 ", "+5", "05", "1e1", "5_0"]
LIMITS = st.one_of(DIGITS, TEXT, st.sampled_from(LENIENT))


class TestEquivalence:
    """Whatever a hot route is sent with one API key, the answer is the application's: the
    same status and body as with a bearer token of the same database, which the hot layer
    never answers. Random parameters, ids and bodies, by Hypothesis."""

    @pytest.fixture
    async def same(self, both: Both) -> Callable[..., None]:
        """`same(method, path, **request)`: sends it with the key and with the token, from
        Hypothesis's thread, and asserts the two answers are one."""

        def same(method: str, path: str, **request: Any) -> None:
            hot, full = both(method, path, **request)
            assert _answer(hot) == _answer(full), (method, path, request)

        return same

    async def test_lists(self, app: FastAPI, same: Callable[..., None]) -> None:
        served = Served(app, list_spaces)

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(limit=st.none() | LIMITS, cursor=st.none() | TEXT, extra=st.none() | TEXT)
        def check(limit: str | None, cursor: str | None, extra: str | None) -> None:
            params = {"limit": limit, "cursor": cursor, "other": extra}
            same("GET", SPACES, params={k: v for k, v in params.items() if v is not None})

        await asyncio.to_thread(check)
        assert served.count > 0

    async def test_one_space(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        org: tuple[dict[str, str], dict[str, str]],
        same: Callable[..., None],
    ) -> None:
        key, _ = org
        ids = [s["space_id"] for s in (await client.get(SPACES, headers=key)).json()["data"]]
        served = Served(app, get_space)

        def respelled(space_id: str, cut: int, mark: str) -> str:
            digits = space_id.replace("-", "")
            return digits[:cut] + mark + digits[cut:]

        spellings = st.one_of(
            st.sampled_from(ids),
            st.sampled_from(ids).map(str.upper),
            st.builds(respelled, st.sampled_from(ids), st.integers(0, 32), st.sampled_from("-_ ")),
            st.uuids().map(str),
            TEXT.filter(lambda text: "/" not in text and "?" not in text and "#" not in text),
        )

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(space_id=spellings)
        def check(space_id: str) -> None:
            same("GET", f"{SPACES}/{quote(space_id, safe='')}")

        await asyncio.to_thread(check)
        assert served.count > 0

    async def test_tenant_ids(self, app: FastAPI, same: Callable[..., None]) -> None:
        served = Served(app, list_tenant_ids)
        values = st.none() | st.booleans() | st.integers(-3, 200) | TEXT | st.floats()
        bodies = st.dictionaries(st.sampled_from(["limit", "after", "other"]), values)

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=bodies | st.lists(values, max_size=2) | values, raw=st.none() | st.binary())
        def check(body: object, raw: bytes | None) -> None:
            content = raw if raw is not None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
            same("POST", "/v20241104/list-tenant-ids", content=content, headers=headers)

        await asyncio.to_thread(check)
        assert served.count > 0


def _made(response: httpx.Response) -> tuple[int, object]:
    """`_answer`, less what a write makes anew each time: the space's id and timestamps."""
    status, body = _answer(response)
    if status in (200, 201) and isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in {"space_id", "created_at", "updated_at"}}
    return status, body


FIELDS = st.sampled_from(["name", "description", "metadata", "other"])
VALUES = st.none() | st.booleans() | st.integers(-3, 3) | TEXT | st.dictionaries(TEXT, TEXT)
KEYS = st.none() | TEXT | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=8)


class TestWrites:
    """The spaces' create, update and delete are hot too: the same answers, less what each
    write makes anew, and a write refused by the hot layer is made once, by the application."""

    @pytest.fixture
    async def same_write(self, both: Both) -> Callable[..., None]:
        def same(method: str, path: str, **request: Any) -> None:
            hot, full = both(method, path, **request)
            assert _made(hot) == _made(full), (method, path, request)

        return same

    async def test_creates(self, app: FastAPI, same_write: Callable[..., None]) -> None:
        served = Served(app, create_space)

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            body=st.dictionaries(FIELDS, VALUES) | VALUES,
            named=st.booleans(),
            raw=st.none() | st.binary(max_size=20),
            key=KEYS,
        )
        def check(body: object, named: bool, raw: bytes | None, key: str | None) -> None:
            if named and isinstance(body, dict):
                body["name"] = "made"
            content = raw if raw is not None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
            if key is not None and key.isascii():
                headers["Idempotency-Key"] = key
            same_write("POST", SPACES, content=content, headers=headers)

        await asyncio.to_thread(check)
        assert served.count > 0

    async def test_updates(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        org: tuple[dict[str, str], dict[str, str]],
        same_write: Callable[..., None],
    ) -> None:
        key, _ = org
        ids = [s["space_id"] for s in (await client.get(SPACES, headers=key)).json()["data"]]
        served = Served(app, update_space)

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            space_id=st.sampled_from(ids) | st.uuids().map(str) | TEXT.filter(str.isalnum),
            body=st.dictionaries(FIELDS, VALUES) | VALUES,
        )
        def check(space_id: str, body: object) -> None:
            same_write("PATCH", f"{SPACES}/{quote(space_id, safe='')}", json=body)

        await asyncio.to_thread(check)
        assert served.count > 0

    async def test_deletes(
        self, client: httpx.AsyncClient, app: FastAPI, same_write: Callable[..., None]
    ) -> None:
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(space_id=st.uuids().map(str) | TEXT.filter(str.isalnum))
        def check(space_id: str) -> None:
            same_write("DELETE", f"{SPACES}/{quote(space_id, safe='')}")

        await asyncio.to_thread(check)

    async def test_each_is_answered_here_once(
        self, client: httpx.AsyncClient, app: FastAPI, org: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        key, _ = org
        made = Served(app, create_space)
        headers = key | {"Idempotency-Key": f"once-{uuid.uuid4()}"}
        first = await client.post(SPACES, headers=headers, json={"name": "once"})
        assert first.status_code == 201, first.text
        again = await client.post(SPACES, headers=headers, json={"name": "once"})
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.content == first.content
        assert made.count == 1  # the replay is the application's
        space = f"{SPACES}/{first.json()['space_id']}"
        changed, gone = Served(app, update_space), Served(app, delete_space)
        patched = await client.patch(space, headers=key, json={"description": "d"})
        assert patched.json()["description"] == "d"
        assert (await client.delete(space, headers=key)).status_code == 204
        assert (changed.count, gone.count) == (1, 1)
        assert_problem(await client.delete(space, headers=key), 404, "SPACE_NOT_FOUND")
        names = [s["name"] for s in (await client.get(SPACES, headers=key)).json()["data"]]
        assert names.count("once") == 0
