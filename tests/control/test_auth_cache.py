"""Each process remembers checked keys and tokens; a change anywhere reaches it."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.auth.api_keys import prefix_of
from tenantry.auth.cache import APPLICATION_NAME, AuthCache, Listener
from tenantry.auth.context import ANONYMOUS
from tests.utils.factories import Registration, register, wait_for_status
from tests.utils.polling import WITHIN, eventually
from tests.utils.problems import assert_problem
from tests.utils.worker import PausedWorker


def cache_of(app: FastAPI) -> AuthCache:
    cache: AuthCache = app.state.auth_cache
    return cache


async def ready(client: httpx.AsyncClient) -> Registration:
    """A new organization whose database is ready (polled with a token: its API key is
    never checked before the test checks it)."""
    registration = await register(client)
    await wait_for_status(client, registration.bearer)
    return registration


async def whoami(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.get("/v1/whoami/", headers={"X-API-Key": key})


async def refused(client: httpx.AsyncClient, key: str) -> bool:
    return (await whoami(client, key)).status_code == 401


async def sql(engine: AsyncEngine, statement: str, **values: object) -> None:
    """A change made by someone else: another server process, the CLI, an operator."""
    async with engine.begin() as connection:
        await connection.execute(text(statement), values)


@pytest.fixture
async def listening(app: FastAPI) -> Listener:
    listener: Listener = app.state.auth_listener
    await asyncio.wait_for(listener.connected.wait(), WITHIN)
    return listener


@pytest.mark.usefixtures("listening")
class TestRemembered:
    async def test_a_checked_key_is_remembered(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        registration = await ready(client)
        assert (await whoami(client, registration.api_key)).status_code == 200
        assert cache_of(app).get(("key", prefix_of(registration.api_key))) is not None

    async def test_a_wrong_secret_with_a_remembered_prefix_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        registration = await ready(client)
        key = registration.api_key
        assert (await whoami(client, key)).status_code == 200
        forged = key[:12] + ("A" if key[12] != "A" else "B") + key[13:]
        assert_problem(await whoami(client, forged), 401, "INVALID_CREDENTIALS")

    async def test_a_pending_database_is_not_remembered(
        self, app: FastAPI, client: httpx.AsyncClient, paused_worker: PausedWorker
    ) -> None:
        registration = await register(client)
        assert (await whoami(client, registration.api_key)).status_code == 200
        assert cache_of(app).get(("key", prefix_of(registration.api_key))) is None
        paused_worker.resume()
        await wait_for_status(client, registration.bearer)
        spaces = await client.get("/v1/spaces", headers=registration.key)
        assert spaces.status_code == 200, spaces.text


@pytest.mark.usefixtures("listening")
class TestChangesElsewhere:
    """Rows changed behind this process's back: the triggers' NOTIFY drops the entries."""

    async def test_revoked_key(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        registration = await ready(client)
        key = registration.api_key
        assert (await whoami(client, key)).status_code == 200
        await sql(
            engine,
            "UPDATE tenantry.api_keys SET revoked_at = now() WHERE prefix = :prefix",
            prefix=prefix_of(key),
        )
        await eventually(lambda: refused(client, key), "the revoked key refused")

    async def test_deleted_database(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        registration = await ready(client)
        key = registration.api_key
        assert (await whoami(client, key)).status_code == 200
        await sql(
            engine,
            "DELETE FROM tenantry.databases WHERE id = :id",
            id=registration.database_id,
        )
        await eventually(lambda: refused(client, key), "the deleted database's key refused")

    async def test_demoted_account_token(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        registration = await ready(client)
        assert (await client.get("/v1/whoami/", headers=registration.bearer)).json()[
            "role"
        ] == "root"
        await sql(
            engine,
            "UPDATE tenantry.accounts SET role = 'frontend' WHERE id = :id",
            id=registration.body["account_id"],
        )

        async def demoted() -> bool:
            response = await client.get("/v1/whoami/", headers=registration.bearer)
            return bool(response.json()["role"] == "frontend")

        await eventually(demoted, "the token acting as frontend")


class TestRevokedHere:
    async def test_revoke_is_seen_by_the_next_request(
        self, app: FastAPI, client: httpx.AsyncClient, listening: Listener
    ) -> None:
        registration = await ready(client)
        created = await client.post(
            "/v1/api-keys/", json={"name": "ci"}, headers=registration.bearer
        )
        key = created.json()["key"]
        assert (await whoami(client, key)).status_code == 200
        assert cache_of(app).get(("key", prefix_of(key))) is not None
        listening.cache.listening = False  # no notice can help: the request itself must
        try:
            revoked = await client.delete(
                f"/v1/api-keys/{created.json()['id']}/", headers=registration.bearer
            )
            assert revoked.status_code == 204
            assert_problem(await whoami(client, key), 401, "INVALID_CREDENTIALS")
        finally:
            listening.cache.listening = True


class TestCache:
    def test_nothing_is_remembered_while_not_listening(self) -> None:
        cache = AuthCache(ttl=60, token_lifetime=300)
        cache.put("credential", ANONYMOUS, generation=cache.generation, tags=[])
        assert cache.get("credential") is None

    def test_a_read_older_than_a_notice_is_not_remembered(self) -> None:
        cache = AuthCache(ttl=60, token_lifetime=300)
        cache.listening = True
        generation = cache.generation
        cache.invalidate("some-database")
        cache.put("credential", ANONYMOUS, generation=generation, tags=["some-database"])
        assert cache.get("credential") is None

    def test_a_notice_drops_only_what_it_names(self) -> None:
        cache = AuthCache(ttl=60, token_lifetime=300)
        cache.listening = True
        cache.put("a", ANONYMOUS, generation=cache.generation, tags=["db-a"])
        cache.put("b", ANONYMOUS, generation=cache.generation, tags=["db-b"])
        cache.invalidate("db-a")
        assert cache.get("a") is None
        assert cache.get("b") is not None
        cache.invalidate("*")
        assert cache.get("b") is None

    def test_entries_expire(self) -> None:
        cache = AuthCache(ttl=0.000001, token_lifetime=300)
        cache.listening = True
        cache.put("a", ANONYMOUS, generation=cache.generation, tags=[])
        assert cache.get("a") is None


class TestListener:
    async def test_a_lost_connection_forgets_everything_and_reconnects(
        self, app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine, listening: Listener
    ) -> None:
        registration = await ready(client)
        credential = ("key", prefix_of(registration.api_key))
        assert (await whoami(client, registration.api_key)).status_code == 200
        assert cache_of(app).get(credential) is not None
        before = await listener_pids(engine)
        await sql(
            engine,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()",
            name=APPLICATION_NAME,
        )

        async def listening_again() -> bool:
            pids = await listener_pids(engine)
            return bool(pids) and not pids & before and listening.cache.listening

        await eventually(listening_again, "a new listening connection")
        assert cache_of(app).get(credential) is None
        assert (await whoami(client, registration.api_key)).status_code == 200
        assert cache_of(app).get(credential) is not None


async def listener_pids(engine: AsyncEngine) -> set[int]:
    async with engine.connect() as connection:
        rows = await connection.scalars(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": APPLICATION_NAME},
        )
        return set(rows)


class TestLastUsed:
    async def test_written_in_batches(
        self, app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        registration = await ready(client)
        assert (await whoami(client, registration.api_key)).status_code == 200
        await app.state.last_used.flush()
        async with engine.connect() as connection:
            used = await connection.scalar(
                text("SELECT last_used_at FROM tenantry.api_keys WHERE prefix = :prefix"),
                {"prefix": prefix_of(registration.api_key)},
            )
        assert used is not None
