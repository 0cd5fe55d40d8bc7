"""A fleet: three `tenantry serve` processes (one with two workers) on one PostgreSQL and
one Redis, behind HAProxy. Whatever process a request reaches, it answers as one server
would: jobs run once, auth changes reach every process, limits are counted once, an
idempotent create is replayed anywhere, and a process killed with SIGKILL loses no
acknowledged write while the balancer sends its requests to the others."""

import asyncio
import json
import re
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.utils.factories import (
    DATABASE_EXAMPLE,
    PASSWORD,
    add_account,
    bearer,
    ready_registration,
    unique_email,
)
from tests.utils.fleet import SERVED_BY, Fleet, require_haproxy
from tests.utils.polling import eventually
from tests.utils.postgres import create_database, drop_database
from tests.utils.redis import REDIS_URL, redis_answers

pytestmark = pytest.mark.slow

RATE_LIMIT = 300  # requests per key and minute, counted once for the fleet
REGISTRATIONS = 6  # per address and hour
LOGIN_FAILURES = 5  # per account
PROCESSES = {"a": (), "b": (), "c": ("--workers", "2")}
SETTINGS = {
    "TENANTRY_SECRET_KEY": "fleet-secret-that-is-long-enough-0123456789",
    "TENANTRY_LOG_FORMAT": "json",
    "TENANTRY_RATE_LIMIT": f"{RATE_LIMIT}/minute",
    "TENANTRY_REGISTRATION_LIMIT": f"{REGISTRATIONS}/hour",
    "TENANTRY_LOGIN_FAILURES_PER_ACCOUNT": str(LOGIN_FAILURES),
    "TENANTRY_AUTH_CACHE_TTL": "300",
    # No warm pool: every new database is made by a job, the work the processes share.
    "TENANTRY_WARM_POOL_SIZE": "0",
}
WRITERS = 6
WRITES = 15  # per writer
TIMEOUT = 60.0
_addresses = iter(range(2, 250))


@pytest.fixture(scope="module")
def fleet(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    require_haproxy()
    if not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379")
    database_url = asyncio.run(create_database(postgres_server))
    fleet = Fleet(tmp_path_factory.mktemp("fleet"), database_url, REDIS_URL, PROCESSES, SETTINGS)
    try:
        fleet.start()
        yield fleet
    finally:
        fleet.stop()
        asyncio.run(drop_database(database_url))


@pytest.fixture
async def client(fleet: Fleet) -> AsyncIterator[httpx.AsyncClient]:
    """A client through the balancer, from an address of its own (the limits count per
    address, as the balancer's `X-Forwarded-For` tells)."""
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{next(_addresses)}")
    async with httpx.AsyncClient(base_url=fleet.url, timeout=TIMEOUT, transport=transport) as c:
        yield c


def direct(fleet: Fleet, name: str) -> httpx.AsyncClient:
    """A client of one process, around the balancer."""
    return httpx.AsyncClient(base_url=fleet.servers[name].url, timeout=TIMEOUT)


async def test_requests_reach_every_process(client: httpx.AsyncClient) -> None:
    answers = [await client.get("/healthz") for _ in range(12)]
    assert {answer.headers[SERVED_BY] for answer in answers} == set(PROCESSES)


async def test_each_job_runs_once(fleet: Fleet, client: httpx.AsyncClient) -> None:
    """Databases made through every process are provisioned, each by one process."""
    org = await ready_registration(client, "jobs")
    made = [
        await client.post(
            "/v1/databases/", headers=org.bearer, json=DATABASE_EXAMPLE | {"name": f"db {n}"}
        )
        for n in range(6)
    ]
    assert [answer.status_code for answer in made] == [201] * 6

    async def all_ready() -> bool:
        listed = await client.get("/v1/databases/", headers=org.bearer, params={"amt": 20})
        return all(db["status"] == "ready" for db in listed.json()["databases"])

    await eventually(all_ready, "every database ready")
    done = Counter(
        line["job_id"]
        for line in map(json.loads, re.findall(r"^\{.*\}$", fleet.logs(), re.M))
        if line.get("message") == "job done"
    )
    assert done, "no job ran"
    assert set(done.values()) == {1}, done


async def _whoami(fleet: Fleet, headers: dict[str, str]) -> dict[str, int | str]:
    """What every process answers to `GET /v1/whoami/` with `headers`."""
    answers = {}
    for name in PROCESSES:
        async with direct(fleet, name) as one:
            response = await one.get("/v1/whoami/", headers=headers)
            answers[name] = response.json().get("role") or response.status_code
    return answers


class TestAuthChangesReachEveryProcess:
    async def test_a_revoked_key(self, fleet: Fleet, client: httpx.AsyncClient) -> None:
        org = await ready_registration(client, "revoke")
        made = await client.post("/v1/api-keys/", headers=org.bearer, json={"role": "backend"})
        key = {"X-API-Key": made.json()["key"]}
        assert set((await _whoami(fleet, key)).values()) == {"backend"}  # every cache holds it
        revoked = await client.delete(f"/v1/api-keys/{made.json()['id']}/", headers=org.bearer)
        assert revoked.status_code == 204

        async def refused() -> bool:
            return set((await _whoami(fleet, key)).values()) == {401}

        await eventually(refused, "the key refused by every process")

    async def test_a_demoted_account(self, fleet: Fleet, client: httpx.AsyncClient) -> None:
        org = await ready_registration(client, "demote")
        account = await add_account(client, org.bearer, "manager")
        login = await client.post(
            "/v1/login/individual/",
            json={"email": account.email, "password": PASSWORD, "db_id": org.database_id},
        )
        token = bearer(login.json()["token"])
        assert set((await _whoami(fleet, token)).values()) == {"manager"}
        demoted = await client.patch(
            "/v1/accounts/individual/",
            headers=org.bearer,
            json={"email": account.email, "role": "frontend"},
        )
        assert demoted.status_code == 200, demoted.text

        async def frontend() -> bool:
            return set((await _whoami(fleet, token)).values()) == {"frontend"}

        await eventually(frontend, "the token acting as frontend on every process")

    async def test_a_logout(self, fleet: Fleet, client: httpx.AsyncClient) -> None:
        org = await ready_registration(client, "logout")
        assert set((await _whoami(fleet, org.bearer)).values()) == {"root"}
        assert (await client.post("/v1/logout/", headers=org.bearer)).status_code == 204

        async def refused() -> bool:
            return set((await _whoami(fleet, org.bearer)).values()) == {401}

        await eventually(refused, "the logged-out token refused by every process")


class TestLimitsAreShared:
    async def test_requests_per_key(self, client: httpx.AsyncClient) -> None:
        org = await ready_registration(client, "limits")
        made = await client.post("/v1/api-keys/", headers=org.bearer, json={"role": "backend"})
        key = made.json()["key"]
        answers = [
            await client.get("/v1/spaces", headers={"X-API-Key": key})
            for _ in range(RATE_LIMIT + 10)
        ]
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {200: RATE_LIMIT, 429: 10}, statuses
        assert {answer.headers[SERVED_BY] for answer in answers} == set(PROCESSES)

    async def test_registrations_per_address(self, client: httpx.AsyncClient) -> None:
        answers = [
            await client.post(
                "/v1/register/", json={"email": unique_email("many"), "password": PASSWORD}
            )
            for _ in range(REGISTRATIONS + 2)
        ]
        statuses = [answer.status_code for answer in answers]
        assert statuses == [201] * REGISTRATIONS + [429] * 2, statuses

    async def test_failed_logins_per_account(self, client: httpx.AsyncClient) -> None:
        org = await ready_registration(client, "throttled")
        for _ in range(LOGIN_FAILURES):
            failed = await client.post(
                "/v1/login/individual/",
                json={"email": org.email, "password": "wrong-password", "db_id": org.database_id},
            )
            assert failed.status_code == 401
        right = await client.post(
            "/v1/login/individual/",
            json={"email": org.email, "password": PASSWORD, "db_id": org.database_id},
        )
        assert right.status_code == 429, right.text


async def test_an_idempotent_create_is_replayed_by_another_process(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    org = await ready_registration(client, "replay")
    headers = org.key | {"Idempotency-Key": uuid.uuid4().hex}
    answers = []
    for name in PROCESSES:
        async with direct(fleet, name) as one:
            answers.append(await one.post("/v1/spaces", headers=headers, json={"name": "once"}))
    assert [answer.status_code for answer in answers] == [201] * 3
    assert [answer.headers.get("Idempotent-Replayed") for answer in answers] == [
        None,
        "true",
        "true",
    ]
    assert len({answer.content for answer in answers}) == 1
    listed = await client.get("/v1/spaces", headers=org.key, params={"limit": 100})
    assert [space["name"] for space in listed.json()["data"]].count("once") == 1


async def _write_until_acknowledged(
    client: httpx.AsyncClient, key: dict[str, str], name: str, statuses: Counter[int]
) -> None:
    """A create, sent again with its `Idempotency-Key` until it is acknowledged."""
    headers = key | {"Idempotency-Key": uuid.uuid4().hex}
    while True:
        try:
            answer = await client.post("/v1/spaces", headers=headers, json={"name": name})
        except httpx.TransportError:
            statuses[0] += 1
            continue
        statuses[answer.status_code] += 1
        if answer.status_code == 201:
            return
        assert answer.status_code in (409, 502, 503), answer.text
        await asyncio.sleep(0.05)


async def _read(client: httpx.AsyncClient, path: str, **options: Any) -> httpx.Response:
    """A GET, sent again (it is safe to) when the balancer closed the kept-alive connection
    it was sent on: right after a kill, it may close a client's connection."""
    for _ in range(4):
        try:
            return await client.get(path, **options)
        except httpx.TransportError:
            await asyncio.sleep(0.25)
    return await client.get(path, **options)


async def test_a_killed_process_loses_no_acknowledged_write(
    fleet: Fleet, client: httpx.AsyncClient
) -> None:
    """Writers through the balancer while process `a` is killed with SIGKILL: every write
    they saw acknowledged is there once, and the balancer answers from the others."""
    org = await ready_registration(client, "killed")
    statuses: Counter[int] = Counter()

    async def writer(number: int) -> list[str]:
        names = [f"w{number}-{turn}" for turn in range(WRITES)]
        for name in names:
            await _write_until_acknowledged(client, org.key, name, statuses)
        return names

    async def kill() -> None:
        await asyncio.sleep(0.5)
        victim = fleet.servers["a"]
        assert victim.process is not None
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=30)

    written, _ = await asyncio.gather(
        asyncio.gather(*(writer(number) for number in range(WRITERS))), kill()
    )
    names: list[str] = []
    cursor = None
    while True:
        params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = (await _read(client, "/v1/spaces", headers=org.key, params=params)).json()
        names += [space["name"] for space in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if not cursor:
            break
    acknowledged = [name for batch in written for name in batch]
    assert Counter(names) == Counter(acknowledged), statuses
    after = [await _read(client, "/healthz") for _ in range(6)]
    assert {answer.headers[SERVED_BY] for answer in after} == {"b", "c"}
