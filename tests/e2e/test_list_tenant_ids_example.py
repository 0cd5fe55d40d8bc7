"""Seed 002's Python example for list-tenant-ids, run as it is documented (only the host
and the key replaced) against a real `tenantry serve`; then a client loop over
`next_after`, as the documentation describes, visits every tenant id exactly once."""

import ast
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tests.utils.http import ready_key
from tests.utils.server import Server

pytestmark = pytest.mark.slow

EXAMPLE = """import requests

url = "https://api.gainly.ai/v20241104/list-tenant-ids"

payload = {
    "limit": 5
}

headers = {
    "Content-Type": "application/json",
    "X-API-Key": "YOUR_API_KEY_HERE" # (1)!
}

response = requests.post(url, json=payload, headers=headers)
data = response.json()
print(data)
"""
TENANT_IDS = [f"tenant{n:03d}" for n in range(123, 140)]


def test_the_documented_example_and_its_pagination(server: Server) -> None:
    server.start()
    base = server.url
    key = ready_key(base, "ids@example.com")
    headers = {"X-API-Key": key}
    for index, tenant_id in enumerate(TENANT_IDS * 2):
        response = httpx.post(
            f"{base}/v20241104/documents",
            headers=headers,
            json={"title": f"document {index}", "tenant_id": tenant_id},
        )
        assert response.status_code == 200, response.text

    code = EXAMPLE.replace("https://api.gainly.ai", base).replace("YOUR_API_KEY_HERE", key)
    printed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    data: dict[str, Any] = ast.literal_eval(printed.strip())
    assert data == {
        "object": "list_tenant_ids_result",
        "url": "/v20241104/list-tenant-ids",
        "data": TENANT_IDS[:5],
        "has_more": True,
        "next_after": TENANT_IDS[4],
        "limit": 5,
        "after": None,
        "total_number_of_results": len(TENANT_IDS),
        "livemode": False,
    }

    seen = list(data["data"])
    while data["has_more"]:
        data = httpx.post(
            f"{base}/v20241104/list-tenant-ids",
            headers=headers,
            json={"limit": 5, "after": data["next_after"]},
        ).json()
        seen += data["data"]
    assert seen == TENANT_IDS
    assert data["next_after"] is None
    assert server.stop() == 0
