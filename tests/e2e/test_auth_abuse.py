"""Regression tests for an attack on the auth layer, against one real `tenantry serve`.

Each test names the finding it holds. Bounds on time are generous: they separate a server
that hangs or stalls (seconds, then 500 or 503) from one that answers at once.
"""

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tests.utils.factories import PASSWORD, add_account, bearer, register, unique_email
from tests.utils.http import (
    WRONG_PASSWORD,
    Timed,
    login,
    percentile,
    ready_key,
    summary,
    timed,
)
from tests.utils.postgres import create_database, drop_database
from tests.utils.server import Server, environment

pytestmark = pytest.mark.slow

ACCOUNT_LIMIT = 10  # failed logins an account is allowed in a window
SETTINGS = {
    "TENANTRY_SECRET_KEY": "e2e-secret-that-is-long-enough-0123456789",
    "TENANTRY_LOG_FORMAT": "json",
    "TENANTRY_LOGIN_FAILURES_PER_ACCOUNT": str(ACCOUNT_LIMIT),
    # Every test fails logins from 127.0.0.1; only the per-account throttle is under test.
    "TENANTRY_LOGIN_FAILURES_PER_ADDRESS": "100000",
    "TENANTRY_REGISTRATION_LIMIT": "1000/minute",
    "TENANTRY_RATE_LIMIT": "none",
}
PATIENCE = 60.0  # a client waits this long, so that a hung request shows how it ends
BYSTANDER_ADDRESS = "127.0.0.2"  # the server listens on 127.0.0.1; lo answers all of 127/8
BYSTANDER_BOUND = 5.0  # seconds a bystander's login may take during an attack (stalled: 10)
REFUSAL_BOUND = 5.0  # seconds a lost refresh race may take to be refused (hung: 30)


@pytest.fixture(scope="module")
async def base(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The URL of one `tenantry serve` for the whole module, on a database of its own."""
    database_url = await create_database(postgres_server)
    env = environment() | SETTINGS | {"TENANTRY_DATABASE_URL": database_url}
    server = Server(tmp_path_factory.mktemp("auth-abuse") / "data", env)
    try:
        await asyncio.to_thread(server.start)
        yield server.url
    finally:
        if server.running:
            server.stop()
        await drop_database(database_url)


@pytest.fixture
async def attacker(base: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base, timeout=PATIENCE) as client:
        yield client


@pytest.fixture
async def bystander(base: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client from another address than the attacker's."""
    transport = httpx.AsyncHTTPTransport(local_address=BYSTANDER_ADDRESS)
    async with httpx.AsyncClient(base_url=base, timeout=PATIENCE, transport=transport) as client:
        yield client


def refresh(client: httpx.AsyncClient, refresh_token: str) -> Awaitable[httpx.Response]:
    return client.post("/v1/login/refresh-token/", json={"refresh_token": refresh_token})


async def ready_root(client: httpx.AsyncClient, label: str) -> tuple[str, str, str]:
    """A new organization whose database is ready: its root's email, database id and a
    root access token that names the database."""
    email = unique_email(label)
    key = await asyncio.to_thread(ready_key, str(client.base_url), email)
    current = await client.get("/v1/databases/current/", headers={"X-API-Key": key})
    database_id = str(current.json()["id"])
    root = await login(client, email, db_id=database_id)
    assert root.status_code == 200, root.text
    return email, database_id, str(root.json()["token"])


async def logins_during(
    client: httpx.AsyncClient, email: str, attack: asyncio.Future[list[Timed]]
) -> list[Timed]:
    """A bystander's logins, one after the other, while the attack is on (one at least),
    until one is refused or slow."""
    await asyncio.sleep(0.2)  # the attack is on the server
    probes: list[Timed] = []
    while not probes or not attack.done():
        probes.append(await timed(login(client, email)))
        if probes[-1].status != 200 or probes[-1].seconds >= BYSTANDER_BOUND:
            break
    return probes


@pytest.mark.parametrize("racers", [2, 8])
async def test_concurrent_refreshes_of_one_token(attacker: httpx.AsyncClient, racers: int) -> None:
    """Finding: when one refresh token is used twice at once, the loser hangs on a row lock
    (30 s, then 500). One must win, the others be refused at once, and the family die."""
    account = await register(attacker, "refresh-race")
    answers = await asyncio.gather(
        *(timed(refresh(attacker, account.refresh_token)) for _ in range(racers))
    )

    winners = [answer for answer in answers if answer.status == 200]
    refused = [answer.seconds < REFUSAL_BOUND for answer in answers if answer.status == 401]
    assert (len(winners), len(refused), all(refused)) == (1, racers - 1, True), summary(answers)
    reused = await refresh(attacker, winners[0].body["refresh_token"])
    assert reused.status_code == 401, "the reuse must revoke the family, the newest token too"


async def test_refresh_races_do_not_starve_logins(
    attacker: httpx.AsyncClient, bystander: httpx.AsyncClient
) -> None:
    """Finding: lost refresh races hold control-plane connections for 30 s, so a few of
    them exhaust the pool: an unrelated login waits 10 s (or gets a 503). Eight tokens,
    each refreshed four times at once."""
    account = await register(attacker, "refresh-races")
    other = await register(bystander, "refresh-bystander")
    logins = [await login(attacker, account.email) for _ in range(8)]
    tokens = [response.json()["refresh_token"] for response in logins]

    races = asyncio.gather(*(timed(refresh(attacker, token)) for token in tokens for _ in range(4)))
    probes = await logins_during(bystander, other.email, races)
    answers = await races

    assert all(probe.status == 200 and probe.seconds < BYSTANDER_BOUND for probe in probes), (
        f"bystander {summary(probes)}; races {summary(answers)}"
    )
    assert all(answer.status in (200, 401) for answer in answers), summary(answers)


async def test_failed_login_burst_does_not_stall_the_control_plane(
    attacker: httpx.AsyncClient, bystander: httpx.AsyncClient
) -> None:
    """Finding: a burst of failed logins (unknown emails, wrong passwords) hashes on the
    event loop and holds two connections each to count the failure: the server stalls and
    a correct login from elsewhere waits 10 s for a 503."""
    target = await register(attacker, "burst-target")
    other = await register(bystander, "burst-bystander")
    attempts = [
        login(attacker, email, WRONG_PASSWORD)
        for _ in range(15)
        for email in (unique_email("burst-nobody"), target.email)
    ]

    burst = asyncio.gather(*(timed(attempt) for attempt in attempts))
    probes = await logins_during(bystander, other.email, burst)
    answers = await burst

    assert all(probe.status == 200 and probe.seconds < BYSTANDER_BOUND for probe in probes), (
        f"bystander {summary(probes)}; burst {summary(answers)}"
    )
    assert all(answer.status in (401, 429) for answer in answers), summary(answers)


TIMED_GUESSES = 10  # of each kind, interleaved
TIMED_NAMES = 3  # existing names guessed in turn, so that each stays under the account limit


def unique_name(label: str) -> str:
    return unique_email(label).split("@")[0]


async def assert_alike_in_time(
    guess: Callable[[str], Awaitable[httpx.Response]],
    existing: list[str],
    unknown_name: Callable[[], str],
) -> None:
    """Wrong guesses for the `existing` names and for unknown ones take alike median times
    (within a factor of 2), asked one after the other, in turn."""
    known, unknown = [], []
    for attempt in range(TIMED_GUESSES):
        known.append(await timed(guess(existing[attempt % len(existing)])))
        unknown.append(await timed(guess(unknown_name())))

    assert all(answer.status == 401 for answer in known + unknown), summary(known + unknown)
    medians = [statistics.median(answer.seconds for answer in kind) for kind in (known, unknown)]
    assert max(medians) / min(medians) < 2, (
        f"median {medians[0] * 1000:.0f} ms existing, {medians[1] * 1000:.0f} ms unknown"
    )


async def test_login_time_does_not_tell_whether_an_email_is_registered(
    attacker: httpx.AsyncClient,
) -> None:
    """Finding: a login for an unknown email skips the password check (about 20 ms) that a
    wrong password for a registered one costs (about 250 ms): emails can be enumerated."""
    accounts = [await register(attacker, "timing") for _ in range(TIMED_NAMES)]

    def guess(email: str) -> Awaitable[httpx.Response]:
        return login(attacker, email, WRONG_PASSWORD)

    emails = [account.email for account in accounts]
    await assert_alike_in_time(guess, emails, lambda: unique_email("nobody"))


async def test_service_login_time_does_not_tell_whether_a_name_exists(
    attacker: httpx.AsyncClient,
) -> None:
    """Finding: as for emails, an unknown service-account name is answered without a
    password check, faster than a wrong password for an existing name."""
    root = (await register(attacker, "service-timing")).bearer
    names = [unique_name("svc") for _ in range(TIMED_NAMES)]
    for name in names:
        body = {"name": name, "password": PASSWORD, "role": "backend"}
        created = await attacker.post("/v1/accounts/service/", headers=root, json=body)
        assert created.status_code == 201, created.text

    def guess(name: str) -> Awaitable[httpx.Response]:
        body = {"name": name, "password": WRONG_PASSWORD}
        return attacker.post("/v1/login/service/", json=body)

    await assert_alike_in_time(guess, names, lambda: unique_name("nosvc"))


async def test_password_hashing_does_not_block_hot_reads(
    attacker: httpx.AsyncClient, bystander: httpx.AsyncClient
) -> None:
    """Finding: argon2 runs on the event loop, so while a few clients log in another
    database's hot reads wait behind each hash (p95 from about 12 ms to 700-950 ms)."""
    key = await asyncio.to_thread(ready_key, str(bystander.base_url), unique_email("hot-reads"))
    headers = {"X-API-Key": key}
    loader = await register(attacker, "hot-loader")

    async def read() -> float:
        answer = await timed(bystander.get("/v1/spaces", headers=headers))
        assert answer.status == 200, answer.body
        return answer.seconds

    for _ in range(10):
        await read()  # warm: the key checked, the lane's connections open
    idle = [await read() for _ in range(60)]

    deadline = time.monotonic() + 4
    logins: list[int] = []
    loaded: list[float] = []

    async def log_in_again_and_again() -> None:
        while time.monotonic() < deadline:
            logins.append((await login(attacker, loader.email)).status_code)

    async def read_again_and_again() -> None:
        await asyncio.sleep(0.3)  # the logins are on the server
        while time.monotonic() < deadline:
            loaded.append(await read())

    await asyncio.gather(*(log_in_again_and_again() for _ in range(4)), read_again_and_again())

    assert set(logins) == {200}, logins
    idle_p95, loaded_p95 = percentile(idle, 0.95), percentile(loaded, 0.95)
    assert loaded_p95 < 5 * idle_p95 + 0.05, (
        f"hot-read p95 {loaded_p95 * 1000:.0f} ms under {len(logins)} logins, "
        f"{idle_p95 * 1000:.0f} ms idle; {len(loaded)} reads, max {max(loaded) * 1000:.0f} ms"
    )


async def guessed_past_the_limit(client: httpx.AsyncClient, email: str) -> None:
    """One wrong guess fewer than the account's limit, one after the other."""
    guesses = [await login(client, email, WRONG_PASSWORD) for _ in range(ACCOUNT_LIMIT - 1)]
    assert [guess.status_code for guess in guesses] == [401] * (ACCOUNT_LIMIT - 1)


async def test_parallel_logins_check_at_most_one_password_past_the_limit(
    attacker: httpx.AsyncClient,
) -> None:
    """Finding: the per-account throttle is read before the password is checked and
    written after, so logins sent at once all pass it: with one guess left, nine
    parallel logins check nine passwords."""
    account = await register(attacker, "throttle-right")
    await guessed_past_the_limit(attacker, account.email)

    answers = await asyncio.gather(*(timed(login(attacker, account.email)) for _ in range(9)))

    statuses = sorted(answer.status for answer in answers)
    assert statuses.count(200) <= 1, summary(answers)
    assert set(statuses) <= {200, 429}, summary(answers)


async def test_parallel_wrong_guesses_cannot_pass_the_account_limit(
    attacker: httpx.AsyncClient,
) -> None:
    """Finding: as above, with wrong guesses: all nine are checked (401) where one may be,
    and the account is then blocked even for its right password."""
    account = await register(attacker, "throttle-wrong")
    await guessed_past_the_limit(attacker, account.email)

    answers = await asyncio.gather(
        *(timed(login(attacker, account.email, WRONG_PASSWORD)) for _ in range(9))
    )
    after = await login(attacker, account.email)

    statuses = sorted(answer.status for answer in answers)
    assert statuses.count(401) <= 1, summary(answers)
    assert set(statuses) <= {401, 429}, summary(answers)
    assert after.status_code == 429, after.text


async def test_logout_ends_the_access_token_at_once(attacker: httpx.AsyncClient) -> None:
    """Finding: logout revokes only the refresh tokens; its access token keeps working
    (and creating keys) until it expires, up to 5 minutes later."""
    email, database_id, _ = await ready_root(attacker, "logout")
    ended = (await login(attacker, email, db_id=database_id)).json()
    kept = (await login(attacker, email, db_id=database_id)).json()
    assert (await attacker.get("/v1/whoami/", headers=bearer(ended["token"]))).status_code == 200

    logout = await attacker.post("/v1/logout/", headers=bearer(ended["token"]))
    assert logout.status_code == 204, logout.text

    async def uses(token: str) -> list[int]:
        """Who the token is, and a key made with it."""
        answers = [
            await attacker.get("/v1/whoami/", headers=bearer(token)),
            await attacker.post("/v1/api-keys/", headers=bearer(token), json={"role": "frontend"}),
        ]
        return [answer.status_code for answer in answers]

    after_logout = {
        "access token": await uses(ended["token"]),
        "refresh token": [(await refresh(attacker, ended["refresh_token"])).status_code],
        "other login": await uses(kept["token"]),
    }
    assert after_logout == {
        "access token": [401, 401],
        "refresh token": [401],
        "other login": [200, 201],
    }


async def test_keys_made_with_keys_follow_their_lineage(attacker: httpx.AsyncClient) -> None:
    """Finding: a key made with another key has no owner, so it outlives the demotion and
    the deletion of the manager behind it, and keeps acting as a manager."""
    _, database_id, root_token = await ready_root(attacker, "lineage")
    root = bearer(root_token)
    manager = await add_account(attacker, root, "manager", "lineage-manager")
    manager_token = (await login(attacker, manager.email, db_id=database_id)).json()["token"]

    async def make_key(headers: dict[str, str]) -> str:
        made = await attacker.post("/v1/api-keys/", headers=headers, json={"role": "manager"})
        assert made.status_code == 201, made.text
        return str(made.json()["key"])

    k1 = await make_key(bearer(manager_token))
    k2 = await make_key({"X-API-Key": k1})

    async def powers(key: str) -> list[int]:
        """What a key may do: list accounts, create an account, create a key."""
        headers = {"X-API-Key": key}
        account = {"email": unique_email("lineage-new"), "password": PASSWORD, "role": "manager"}
        answers = [
            await attacker.get("/v1/accounts/", headers=headers),
            await attacker.post("/v1/accounts/individual/", headers=headers, json=account),
            await attacker.post("/v1/api-keys/", headers=headers, json={"role": "frontend"}),
        ]
        return [answer.status_code for answer in answers]

    demoted = await attacker.patch(
        f"/v1/accounts/{manager.id}/", headers=root, json={"role": "frontend"}
    )
    assert demoted.status_code == 200, demoted.text
    after_demotion = {"K1": await powers(k1), "K2": await powers(k2)}

    deleted = await attacker.delete(f"/v1/accounts/{manager.id}/", headers=root)
    assert deleted.status_code == 204, deleted.text
    after_deletion = {
        name: (await attacker.get("/v1/whoami/", headers={"X-API-Key": key})).status_code
        for name, key in (("K1", k1), ("K2", k2))
    }

    assert (after_demotion, after_deletion) == (
        {"K1": [403, 403, 403], "K2": [403, 403, 403]},
        {"K1": 401, "K2": 401},
    )
