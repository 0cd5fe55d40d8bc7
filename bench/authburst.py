"""A bystander's logins and hot reads while an attacker bursts failed logins and refresh
races at a real `tenantry serve`.

    python -m bench authburst [--seconds 60] [--logins 50] [--races 25] [--label after]
                              [--src PATH]

The attacker (one process, niced, from 127.0.0.1: on one machine its HTTP client's CPU
would otherwise be taken from the server under test) runs `--logins` clients that loop failed logins
(unknown emails and a registered one with wrong passwords) and `--races` pairs of clients
that refresh the same refresh token at once, a fresh token each round. The bystander (this
process, from 127.0.0.2: another client address) reads its own space through the hot path
every 10 ms and logs in once a second, first alone (its idle figures), then during the
burst. `--src` serves another checkout's `src` (say, the code before a change), so two
runs compare; each run's figures are kept under its `--label` in the results.

Target: the bystander's logins under 1 s, its hot reads' p95 under 3x idle,
no 5xx anywhere.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench._harness import (
    RESULTS,
    SECRET,
    TenantryServer,
    create_database,
    drop_database,
    percentile,
    postgres_server,
    print_table,
)
from bench._harness import write_results as write_figures
from tenantry.auth import api_keys
from tenantry.auth.tokens import TokenService
from tenantry.ids import new_id

PASSWORD = "bench password 0123"  # noqa: S105  (scratch)
ATTACKER = "127.0.0.1"
BYSTANDER = "127.0.0.2"
IDLE_SECONDS = 10.0
READ_EVERY = 0.01  # the bystander's steady traffic: a hot read every 10 ms
TOKENS_PER_RACE_CLIENT = 400


def client(url: str, address: str, connections: int = 10) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url,
        timeout=60,
        transport=httpx.AsyncHTTPTransport(
            local_address=address,
            # Idle connections are dropped well before the server's keep-alive (5 s) ends
            # them: a request sent on a connection the server is closing is lost.
            limits=httpx.Limits(max_connections=connections, keepalive_expiry=1.0),
        ),
    )


async def register(http: httpx.AsyncClient) -> dict[str, Any]:
    email = f"bench.{uuid.uuid4().hex[:8]}@example.com"
    response = await http.post("/v1/register/", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body | {"email": email}


async def ready_space(http: httpx.AsyncClient, key: str) -> str:
    headers = {"X-API-Key": key}
    for _ in range(600):
        status = await http.get("/v1/databases/current/status/", headers=headers)
        if status.json()["status"] == "ready":
            break
        await asyncio.sleep(0.05)
    response = await http.post(
        "/v1/spaces",
        headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
        json={"name": "bystander's space"},
    )
    response.raise_for_status()
    return str(response.json()["space_id"])


async def mint_refresh_tokens(database_url: str, victim: dict[str, Any], count: int) -> list[str]:
    """`count` refresh tokens of the victim, each a login of its own, stored as logins
    store them (making them by logging in would cost a password check each)."""
    tokens = TokenService(SECRET, access_ttl=timedelta(minutes=5), refresh_ttl=timedelta(days=1))
    issued = [
        tokens.issue(
            "refresh",
            account_id=victim["account_id"],
            org_id=victim["org_id"],
            role="root",
            database_id=victim["database"]["id"],
            family_id=new_id(),
        )
        for _ in range(count)
    ]
    rows = [
        (
            item.claims.jti,
            item.claims.family_id,
            item.claims.account_id,
            item.claims.database_id,
            api_keys.hash_key(item.token),
            item.claims.issued_at,
            item.claims.expires_at,
        )
        for item in issued
    ]
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await connection.copy_records_to_table(
            "refresh_tokens",
            schema_name="tenantry",
            records=rows,
            columns=[
                "id",
                "family_id",
                "account_id",
                "database_id",
                "token_hash",
                "issued_at",
                "expires_at",
            ],
        )
    finally:
        await connection.close()
    return [item.token for item in issued]


async def attack(url: str, seconds: float, logins: int, victim: str, races: list[str]) -> Any:
    """The attacker's burst; returns the count of each status and the 5xx seen."""
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    async with client(url, ATTACKER, connections=logins + len(races) + 10) as http:

        async def fail_logins(index: int) -> None:
            turn = 0
            while time.monotonic() < deadline:
                email = victim if (index + turn) % 2 else f"nobody.{uuid.uuid4().hex}@example.com"
                statuses[
                    await answer(
                        "login",
                        http.post(
                            "/v1/login/individual/",
                            json={"email": email, "password": "wrong guess!"},
                        ),
                    )
                ] += 1
                turn += 1

        async def race(tokens: list[str]) -> None:
            for token in tokens:
                if time.monotonic() >= deadline:
                    return
                outcomes = await asyncio.gather(
                    *(
                        answer(
                            "refresh",
                            http.post("/v1/login/refresh-token/", json={"refresh_token": token}),
                        )
                        for _ in range(2)
                    )
                )
                statuses.update(outcomes)

        per_pair = [
            races[i * TOKENS_PER_RACE_CLIENT : (i + 1) * TOKENS_PER_RACE_CLIENT]
            for i in range(len(races) // TOKENS_PER_RACE_CLIENT)
        ]
        await asyncio.gather(
            *(fail_logins(index) for index in range(logins)), *(race(t) for t in per_pair)
        )
    return dict(statuses)


async def answer(what: str, request: Awaitable[httpx.Response]) -> str:
    """`what` and the answer's status, or `what` and the transport error."""
    try:
        return f"{what} {(await request).status_code}"
    except httpx.TransportError as error:
        return f"{what} {type(error).__name__}"


def attack_main() -> None:
    """The attacker's process: arguments as JSON on stdin, figures as JSON on stdout."""
    job = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(attack(**job))))


class Bystander:
    def __init__(self, http: httpx.AsyncClient, me: dict[str, Any], space_id: str) -> None:
        self.http = http
        self.me = me
        self.read_path = f"/v1/spaces/{space_id}"
        self.headers = {"X-API-Key": me["api_key"]}

    async def observe(self, seconds: float) -> dict[str, Any]:
        reads: list[float] = []
        logins: list[float] = []
        statuses: Counter[str] = Counter()
        deadline = time.monotonic() + seconds

        async def read() -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await self.http.get(self.read_path, headers=self.headers)
                reads.append(time.perf_counter() - started)
                statuses[f"read {response.status_code}"] += 1
                await asyncio.sleep(max(0.0, READ_EVERY - (time.perf_counter() - started)))

        async def log_in() -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await self.http.post(
                    "/v1/login/individual/",
                    json={"email": self.me["email"], "password": PASSWORD},
                )
                logins.append(time.perf_counter() - started)
                statuses[f"login {response.status_code}"] += 1
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))

        await asyncio.gather(read(), log_in())
        return {
            "reads": len(reads),
            "read_p50_ms": ms(percentile(reads, 0.5)),
            "read_p95_ms": ms(percentile(reads, 0.95)),
            "read_p99_ms": ms(percentile(reads, 0.99)),
            "logins": len(logins),
            "login_p50_ms": ms(percentile(logins, 0.5)),
            "login_max_ms": ms(max(logins)),
            "statuses": dict(statuses),
        }


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def scenario(url: str, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    async with client(url, BYSTANDER) as http:
        me = await register(http)
        victim = await register(http)
        space_id = await ready_space(http, me["api_key"])
        races = await mint_refresh_tokens(database_url, victim, args.races * TOKENS_PER_RACE_CLIENT)
        bystander = Bystander(http, me, space_id)
        idle = await bystander.observe(IDLE_SECONDS)
        job = {
            "url": url,
            "seconds": args.seconds,
            "logins": args.logins,
            "victim": victim["email"],
            "races": races,
        }
        attacker = await asyncio.create_subprocess_exec(
            "nice",  # its client's CPU is the attacker's own, not taken from the server's
            "-n",
            "10",
            sys.executable,
            "-c",
            "from bench.authburst import attack_main; attack_main()",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        communicate = asyncio.create_task(attacker.communicate(json.dumps(job).encode()))
        await asyncio.sleep(1.0)  # the attacker's process starts and opens its connections
        burst = await bystander.observe(args.seconds - 2.0)
        out, _ = await communicate
    attack_statuses: dict[str, int] = json.loads(out)
    return {"idle": idle, "burst": burst, "attacker": attack_statuses}


def server_errors(statuses: dict[str, int]) -> int:
    """The answers that were 5xx, or no answer at all (a transport error)."""
    return sum(
        n
        for key, n in statuses.items()
        if not (status := key.split()[-1]).isdigit() or status.startswith("5")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--logins", type=int, default=50, help="clients failing logins")
    parser.add_argument("--races", type=int, default=25, help="pairs racing a refresh")
    parser.add_argument("--label", default="after", help="the run's name in the results")
    parser.add_argument("--src", type=Path, help="serve this checkout's src instead")
    args = parser.parse_args()
    env = {
        "TENANTRY_REGISTRATION_LIMIT": "1000/minute",
        "TENANTRY_RATE_LIMIT": "none",  # the bystander reads as fast as it is answered
        **({"PYTHONPATH": str(args.src.resolve())} if args.src else {}),
    }
    log = RESULTS / "authburst-server.log"
    log.parent.mkdir(exist_ok=True)
    with postgres_server("bench-authburst") as (server, _):
        url = asyncio.run(create_database(server, "bench_authburst"))
        tenantry = TenantryServer(url, log, env)
        try:
            figures = asyncio.run(scenario(tenantry.url, url, args))
        finally:
            tenantry.stop()
            asyncio.run(drop_database(server, url))
        idle, burst = figures["idle"], figures["burst"]
        errors = server_errors(figures["attacker"]) + server_errors(burst["statuses"])
        refused = sum(
            n
            for run in (idle, burst)
            for key, n in run["statuses"].items()
            if key.split()[-1] != "200"
        )
        figures["summary"] = {
            "read_p95_ratio": round(burst["read_p95_ms"] / idle["read_p95_ms"], 2),
            "login_max_ms": burst["login_max_ms"],
            "server_errors": errors,
            "bystander_refused": refused,
            "met": burst["read_p95_ms"] < 3 * idle["read_p95_ms"]
            and burst["login_max_ms"] < 1000
            and errors == 0
            and refused == 0,
        }
        figures["settings"] = {"seconds": args.seconds, "logins": args.logins, "races": args.races}
        runs = previous_runs() | {args.label: figures}
        path = write_figures(
            "authburst",
            {"runs": runs, "targets": {"login_max_ms": 1000, "read_p95_ratio": 3.0}},
            server,
        )
    print_table(
        f"bystander during {args.logins} failing logins + {args.races} refresh races "
        f"({args.seconds:.0f} s)",
        ["run", "read p95 idle", "read p95 burst", "ratio", "login p50", "login max", "5xx"],
        [
            [
                label,
                run["idle"]["read_p95_ms"],
                run["burst"]["read_p95_ms"],
                run["summary"]["read_p95_ratio"],
                run["burst"]["login_p50_ms"],
                run["burst"]["login_max_ms"],
                run["summary"]["server_errors"],
            ]
            for label, run in runs.items()
        ],
    )
    print(f"attacker's answers: {figures['attacker']}")
    print(f"wrote {path}")


def previous_runs() -> dict[str, Any]:
    path = RESULTS / "authburst.json"
    if not path.exists():
        return {}
    runs: dict[str, Any] = json.loads(path.read_text()).get("runs", {})
    return runs


if __name__ == "__main__":
    main()
