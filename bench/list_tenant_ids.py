"""list-tenant-ids at scale: a page of distinct tenant ids, and their total, over a million
documents, next to what `SELECT DISTINCT` costs on the same rows in the same run.

    python -m bench list_tenant_ids [--documents 1000000] [--tenant-ids 10000]
        [--limit 100] [--walks 3]

A real `tenantry serve` on a scratch database of the benchmark server (BENCH_DATABASE_URL,
default the PostgreSQL on 127.0.0.1:5432). One database is registered through the API and
filled by SQL (the triggers keep the distinct ids and their total in the same statement).
Then, several times over, every page is read in order, following `next_after`:

- through the API, with a real key: what a client sees (p50/p99 per page);
- in SQL, the statement the server runs (a range of the kept table, and a counter);
- in SQL, the baselines: `SELECT DISTINCT ... WHERE tenant_id > $1 ... LIMIT` with
  `count(DISTINCT tenant_id)` for the total (what a naive server does per page; only the
  first `--baseline-pages`, as each page scans every document), and the page alone by a
  skip scan of the documents' index (a recursive CTE), with no total.

Writes bench/results/list_tenant_ids.json and prints a table. Target: a page <= 5 ms.
"""

import argparse
import asyncio
import http.client
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

from bench._harness import (
    create_database,
    drop_database,
    print_table,
    server_url,
    summary_ms,
    write_results,
)
from bench.hotpath import start_tenantry
from tenantry.data.documents.repository import TENANT_IDS as KEPT  # the server's own
from tenantry.db.schema_names import quote

TARGET_MS = 5.0
DISTINCT_NAME = "sql: SELECT DISTINCT + count(DISTINCT)"
DISTINCT = """
    SELECT array(SELECT DISTINCT tenant_id FROM {schema}.documents
                 WHERE tenant_id IS NOT NULL
                   AND tenant_id > coalesce($1::text, '') COLLATE "C"
                 ORDER BY tenant_id LIMIT $2) AS ids,
           (SELECT count(DISTINCT tenant_id) FROM {schema}.documents) AS total
"""
SKIP_SCAN = """
    WITH RECURSIVE walk(tenant_id, n) AS (
        (SELECT tenant_id, 1 FROM {schema}.documents
         WHERE tenant_id IS NOT NULL AND tenant_id > coalesce($1::text, '') COLLATE "C"
         ORDER BY tenant_id LIMIT 1)
        UNION ALL
        SELECT (SELECT d.tenant_id FROM {schema}.documents d WHERE d.tenant_id > w.tenant_id
                ORDER BY d.tenant_id LIMIT 1), n + 1
        FROM walk w WHERE w.tenant_id IS NOT NULL AND n < $2
    )
    SELECT array(SELECT tenant_id FROM walk WHERE tenant_id IS NOT NULL) AS ids,
           NULL::bigint AS total
"""
FILL = """
    INSERT INTO {schema}.documents (id, title, content, content_type, language, tenant_id)
    SELECT 'doc-' || n, 'Document ' || n, repeat('lorem ipsum ', 8), 'plaintext', 'en',
           'tenant-' || lpad((n % $2::integer)::text, 6, '0')
    FROM generate_series($1::integer, $1::integer + $3::integer - 1) AS n
"""
BATCH = 100_000


async def register(base: str) -> tuple[dict[str, str], str]:
    """A new organization's key, once its database is ready, and its database id."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post(
            "/v1/register/", json={"email": "bench@example.com", "password": "p" * 16}
        )
        response.raise_for_status()
        body = response.json()
        key = {"X-API-Key": body["api_key"]}
        deadline = time.monotonic() + 60
        while (await client.get("/v1/databases/current/status/", headers=key)).json()[
            "status"
        ] != "ready":
            if time.monotonic() > deadline:
                raise RuntimeError("the database did not become ready")
            await asyncio.sleep(0.05)
        return key, body["database"]["id"]


async def fill(url: str, database_id: str, documents: int, tenant_ids: int) -> str:
    connection = await asyncpg.connect(url)
    try:
        schema = await connection.fetchval(
            "SELECT schema_name FROM tenantry.databases WHERE id = $1", database_id
        )
        statement = FILL.replace("{schema}", quote(schema))
        for start in range(0, documents, BATCH):
            await connection.execute(statement, start, tenant_ids, min(BATCH, documents - start))
        await connection.execute(f"VACUUM ANALYZE {quote(schema)}.documents")
        await connection.execute(f"VACUUM ANALYZE {quote(schema)}.document_tenant_ids")
        return str(schema)
    finally:
        await connection.close()


Page = Callable[[str | None], Awaitable[tuple[list[str], int | None]]]


async def walk(
    page: Page, walks: int, pages: int | None = None
) -> tuple[list[float], int, int | None]:
    """Read every page in order (or the first `pages`), `walks` times; each page's
    seconds, the ids seen on the last walk, and the total reported."""
    seconds: list[float] = []
    seen, total = 0, None
    for _ in range(walks):
        after: str | None = None
        seen = 0
        for _ in range(pages or sys.maxsize):
            started = time.perf_counter()
            ids, total = await page(after)
            seconds.append(time.perf_counter() - started)
            seen += len(ids)
            if not ids:
                break
            after = ids[-1]
    return seconds, seen, total


def sql_page(connection: asyncpg.Connection, statement: str, limit: int) -> Page:
    async def page(after: str | None) -> tuple[list[str], int | None]:
        ids, total = await connection.fetchrow(statement, after, limit)
        return list(ids), total

    return page


def api_page(connection: http.client.HTTPConnection, key: dict[str, str], limit: int) -> Page:
    """A page through the API on one kept-alive connection of the standard library's
    client, whose own cost per request is small next to a page's (httpx's is not)."""
    headers = key | {"Content-Type": "application/json"}

    async def page(after: str | None) -> tuple[list[str], int | None]:
        body: dict[str, Any] = {"limit": limit} | ({"after": after} if after else {})
        connection.request("POST", "/v20241104/list-tenant-ids", json.dumps(body), headers)
        response = connection.getresponse()
        result = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {result}")
        return result["data"], result["total_number_of_results"]

    return page


async def measure(
    url: str, base: str, key: dict[str, str], schema: str, args: argparse.Namespace
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    connection = await asyncpg.connect(url, server_settings={"search_path": "pg_catalog"})
    try:
        for name, statement, walks, pages in (
            ("sql: kept table + counter", KEPT, args.walks, None),
            (DISTINCT_NAME, DISTINCT, 1, args.baseline_pages),
            ("sql: skip scan (recursive CTE), no total", SKIP_SCAN, args.walks, None),
        ):
            page = sql_page(connection, statement.replace("{schema}", quote(schema)), args.limit)
            await walk(page, 1, pages)  # warm
            seconds, seen, total = await walk(page, walks, pages)
            figures[name] = summary_ms(seconds) | {"tenant_ids_seen": seen, "total": total}
            print(f"{name}: {figures[name]}", file=sys.stderr)
    finally:
        await connection.close()
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    try:
        page = api_page(connection, key, args.limit)
        await walk(page, 1)
        seconds, seen, total = await walk(page, args.walks)
        figures["api: POST /v20241104/list-tenant-ids"] = summary_ms(seconds) | {
            "tenant_ids_seen": seen,
            "total": total,
        }
    finally:
        connection.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--tenant-ids", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=100, help="ids per page (1..100)")
    parser.add_argument("--walks", type=int, default=3, help="times every page is read")
    parser.add_argument(
        "--baseline-pages",
        type=int,
        default=10,
        help="pages read by the SELECT DISTINCT baseline (each scans every document)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    server = server_url()
    url = asyncio.run(create_database(server, "bench_tenant_ids"))
    tenantry = None
    try:
        tenantry = start_tenantry(url)
        key, database_id = asyncio.run(register(tenantry.url))
        began = time.perf_counter()
        schema = asyncio.run(fill(url, database_id, args.documents, args.tenant_ids))
        fill_seconds = round(time.perf_counter() - began, 1)
        print(f"filled {args.documents} documents in {fill_seconds} s", file=sys.stderr)
        figures = asyncio.run(measure(url, tenantry.url, key, schema, args))
    finally:
        if tenantry is not None:
            tenantry.stop()
        asyncio.run(drop_database(server, url))
    for name, row in figures.items():
        if name != DISTINCT_NAME and row["tenant_ids_seen"] != args.tenant_ids:
            sys.exit(f"{name} saw {row['tenant_ids_seen']} tenant ids, not {args.tenant_ids}")
    api = figures["api: POST /v20241104/list-tenant-ids"]
    summary = {
        "documents": args.documents,
        "tenant_ids": args.tenant_ids,
        "limit": args.limit,
        "fill_seconds": fill_seconds,
        "target_page_ms": TARGET_MS,
        "api_page_p99_within_target": api["p99_ms"] <= TARGET_MS,
        "distinct_p50_over_kept_p50": round(
            figures[DISTINCT_NAME]["p50_ms"] / figures["sql: kept table + counter"]["p50_ms"],
            1,
        ),
    }
    path = write_results("list_tenant_ids", {"summary": summary, "pages": figures})
    print_table(
        f"list-tenant-ids: {args.documents:,} documents, {args.tenant_ids:,} tenant ids, "
        f"{args.limit} per page",
        ["how", "pages", "p50 ms", "p99 ms", "max ms", "total reported"],
        [
            [name, row["n"], row["p50_ms"], row["p99_ms"], row["max_ms"], row["total"]]
            for name, row in figures.items()
        ],
    )
    print(f"wrote {path} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
