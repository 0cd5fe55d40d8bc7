"""Time from `POST /v1/databases/` to status `ready`, seen by a client of a real
`tenantry serve`, with 0, 1,000 and 10,000 databases already present.

    python -m bench provisioning [--present 0,1000,10000] [--creations 100] [--pool 4]

On the benchmark's own PostgreSQL cluster, in memory, as the other benchmarks
(`BENCH_DATABASE_URL` names another server): on a disk, making a schema's files is the
file system's time, not Tenantry's.

Target: p50 <= 40 ms, p99 <= 100 ms with 10,000 databases present.
"""

import argparse
import asyncio
import os
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench._harness import (
    TenantryServer,
    create_database,
    drop_database,
    postgres_server,
    print_table,
    summary_ms,
    write_results,
)
from tenantry.db.migrate import schema_upgrade_sql
from tenantry.ids import new_id

PASSWORD = "bench password 0123"  # noqa: S105  (scratch)
POLL_INTERVAL = float(os.environ.get("BENCH_POLL_INTERVAL", "0.002"))


async def fill(database_url: str, org_id: str, start: int, stop: int) -> None:
    """Databases `start`..`stop` of another organization, ready, schemas at head: the same
    schemas provisioning makes (the template is empty)."""
    queue = deque(range(start, stop))

    async def work() -> None:
        connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            while queue:
                index = queue.popleft()
                schema = f"filler_{index:06d}"
                script = schema_upgrade_sql(schema, None, kind="database", create=True)
                await connection.execute(f"BEGIN;\n{script}COMMIT;")
                await connection.execute(
                    "INSERT INTO tenantry.databases (id, org_id, name, description, "
                    "schema_name, status, item_id_type, user_id_type, session_id_type, "
                    "core_config, metadata) VALUES ($1, $2, $3, '', $4, 'ready', 'uuid', "
                    "'uuid', 'uuid', '{}', '{}')",
                    new_id(),
                    org_id,
                    schema,
                    schema,
                )
        finally:
            await connection.close()

    await asyncio.gather(*(work() for _ in range(4)))


def register(client: httpx.Client) -> dict[str, Any]:
    email = f"bench.{uuid.uuid4().hex[:8]}@example.com"
    response = client.post("/v1/register/", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body | {"email": email}


def login(client: httpx.Client, email: str) -> dict[str, str]:
    response = client.post("/v1/login/individual/", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def time_creations(
    client: httpx.Client, headers: dict[str, str], owned: int, creations: int, gap: float
) -> list[float]:
    """Seconds from each POST to the first listing that shows the database ready."""
    timings = []
    for _ in range(creations):
        started = time.perf_counter()
        response = client.post(
            "/v1/databases/",
            headers=headers,
            json={"name": uuid.uuid4().hex, "item_id_type": "uuid", "user_id_type": "uint32"},
        )
        response.raise_for_status()
        db_id = response.json()["id"]
        owned += 1
        page = (owned - 1) // 64 + 1
        while True:
            listing = client.get(f"/v1/databases/?page={page}&amt=64", headers=headers).json()
            status = {d["id"]: d["status"] for d in listing["databases"]}[db_id]
            if status == "ready":
                break
            if status != "pending":
                raise RuntimeError(f"database {db_id} is {status}")
            time.sleep(POLL_INTERVAL)
        timings.append(time.perf_counter() - started)
        time.sleep(gap)
    return timings


def run(server: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each scenario of `--present` on a scratch database of `server`, in turn."""
    url = asyncio.run(create_database(server, "bench_provisioning"))
    log = Path(__file__).parent / "results" / "provisioning-server.log"
    log.parent.mkdir(exist_ok=True)
    tenantry = TenantryServer(url, log, {"TENANTRY_WARM_POOL_SIZE": str(args.pool)})
    scenarios = []
    try:
        with httpx.Client(base_url=tenantry.url, timeout=30) as client:
            owner = register(client)
            filler = register(client)
            owned, present = 1, 0
            for target in (int(n) for n in args.present.split(",")):
                started = time.perf_counter()
                asyncio.run(fill(url, filler["org_id"], present, target))
                fill_seconds = time.perf_counter() - started
                present = target
                headers = login(client, owner["email"])
                timings = time_creations(client, headers, owned, args.creations, args.gap)
                owned += args.creations
                scenarios.append(
                    {
                        "present": present,
                        **summary_ms(timings),
                        "fill_seconds": round(fill_seconds, 1),
                    }
                )
    finally:
        tenantry.stop()
        asyncio.run(drop_database(server, url))
    return scenarios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--present", default="0,1000,10000")
    parser.add_argument("--creations", type=int, default=100)
    parser.add_argument("--pool", type=int, default=4, help="TENANTRY_WARM_POOL_SIZE")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between creations")
    args = parser.parse_args()
    with postgres_server("bench-provisioning") as (server, _):
        scenarios = run(server, args)
    print_table(
        "POST /v1/databases/ -> status ready, seen by the client",
        ["databases present", "n", "p50 ms", "p99 ms", "mean ms", "max ms"],
        [
            [s["present"], s["n"], s["p50_ms"], s["p99_ms"], s["mean_ms"], s["max_ms"]]
            for s in scenarios
        ],
    )
    path = write_results(
        "provisioning",
        {
            "scenarios": scenarios,
            "warm_pool_size": args.pool,
            "gap_seconds": args.gap,
            "poll_interval_seconds": POLL_INTERVAL,
            "targets": {"p50_ms": 40, "p99_ms": 100, "present": 10000},
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
