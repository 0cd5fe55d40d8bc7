"""The reference's search examples run with curl against a real `tenantry serve`: only the
host and the key are replaced, and the pages' `# (1)!` annotation markers dropped. The
search example's body is the reference's search-type example with its t-shirt query; the
filter example's `filter` (a `range` on `created_at`) is sent to search, this server's
route that takes filters. On a PostgreSQL without pgvector, `hybrid` is asserted to answer
the documented 501 and the same search runs lexically."""

import asyncio
import json
import os
import re
import shlex
import subprocess
from typing import Any

import asyncpg
import httpx
import pytest

from tests.utils.http import ready_key
from tests.utils.server import Server

pytestmark = pytest.mark.slow
HOST = "https://api.gainly.ai"
KEY = "YOUR_API_KEY_HERE"
ANNOTATION = re.compile(r"\s*# \(\d+\)!")

SEARCH = (
    'curl -X POST "https://api.gainly.ai/v20241104/search" \\\n'
    '  -H "Content-Type: application/json" \\\n'
    '  -H "X-API-Key: YOUR_API_KEY_HERE" \\ # (1)!\n'
    '  -d \'{ "query": "cotton t-shirt", "search_type": "hybrid" }\''
)
METADATA_SCHEMA = (
    'curl "https://api.gainly.ai/v20241104/documents/metadata-schema" \\\n'
    '  -H "X-API-Key: YOUR_API_KEY_HERE" # (1)!'
)
FILTER = {"must": [{"range": {"created_at": {"gte": "2024-09-10"}}}]}
DOCUMENTS = [
    {
        "id": "shirt",
        "title": "Red Cotton T-Shirt",
        "content": "Comfortable cotton t-shirt perfect for everyday wear...",
        "created_at": "2024-09-12T08:00:00Z",
        "metadata": {
            "color": "red",
            "price": 29.99,
            "in_stock": True,
            "release_date": "2024-01-01T00:00:00.000Z",
            "tags": ["clothing", "casual"],
            "store_location_geo_point": {"lat": 45.67, "lon": -111.04},
        },
    },
    {
        "id": "older",
        "title": "Grey Cotton T-Shirt",
        "content": "Last year's cotton t-shirt.",
        "created_at": "2024-03-01T08:00:00Z",
        "metadata": {"color": "grey", "price": 19, "in_stock": False},
    },
]


def curl(line: str, base: str, key: str) -> tuple[int, Any]:
    line = ANNOTATION.sub("", line).replace(HOST, base).replace(KEY, key)
    arguments = shlex.split(line.replace("\\\n", " "))
    assert arguments[0] == "curl"
    result = subprocess.run(
        [*arguments, "-sS", "-w", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body)


def with_filter(line: str) -> str:
    body = {"query": "cotton t-shirt", "search_type": "lexical", "filter": FILTER}
    return line.replace(
        '\'{ "query": "cotton t-shirt", "search_type": "hybrid" }\'', shlex.quote(json.dumps(body))
    )


def has_pgvector() -> bool:
    external = os.environ.get("TENANTRY_TEST_DATABASE_URL")
    if not external:
        return True  # the embedded PostgreSQL ships pgvector
    return asyncio.run(_available(external))


async def _available(url: str) -> bool:
    connection = await asyncpg.connect(url)
    try:
        found = await connection.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
        )
    finally:
        await connection.close()
    return bool(found)


def test_the_reference_examples(server: Server) -> None:
    server.start()
    base = server.url
    key = ready_key(base, "search@example.com")
    for document in DOCUMENTS:
        response = httpx.post(
            f"{base}/v20241104/documents", headers={"X-API-Key": key}, json=document
        )
        assert response.status_code == 200, response.text

    status, found = curl(SEARCH, base, key)
    if has_pgvector():
        assert status == 200, found
        assert found["object"] == "list"
        assert found["search_type"] == "hybrid"
        assert {hit["id"] for hit in found["data"]} == {"shirt", "older"}
    else:
        assert status == 501
        assert found["code"] == "SEMANTIC_SEARCH_UNAVAILABLE"
    status, found = curl(SEARCH.replace('"hybrid"', '"lexical"'), base, key)
    assert status == 200, found
    assert {hit["id"] for hit in found["data"]} == {"shirt", "older"}
    assert "<em>" in found["data"][0]["excerpt"]

    status, schema = curl(METADATA_SCHEMA, base, key)
    assert status == 200, schema
    assert schema["object"] == "metadata_schema"
    assert schema["data"] == {
        "metadata.color": "keyword",
        "metadata.in_stock": "boolean",
        "metadata.price": "float",
        "metadata.release_date": "date",
        "metadata.store_location_geo_point": "geo_point",
        "metadata.tags": "keyword",
    }

    status, filtered = curl(with_filter(SEARCH), base, key)
    assert status == 200, filtered
    assert [hit["id"] for hit in filtered["data"]] == ["shirt"]
    assert server.stop() == 0
