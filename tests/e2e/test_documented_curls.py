"""The curl lines of the tenant models and spaces documentation, run with curl against a
real `tenantry serve`: only the host, the key and the documents' placeholder ids and
cursor are replaced."""

import json
import shlex
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.utils.http import ready_key
from tests.utils.server import Server

pytestmark = pytest.mark.slow
HOST = "https://api.example.com"

TENANT_MODELS = [
    'curl -X GET "https://api.example.com/v1/tenant/models?limit=10&cursor=abc123" '
    '-H "X-API-Key: your_api_key"',
    'curl -X POST "https://api.example.com/v1/tenant/models" \\\n'
    '-H "Idempotency-Key: unique_key" \\\n'
    '-H "Content-Type: application/json" \\\n'
    '-H "X-API-Key: your_api_key" \\\n'
    '-d \'{"name": "New Tenant Model", "description": "Description of the model"}\'',
    'curl -X GET "https://api.example.com/v1/tenant/models/tenant_model_id" '
    '-H "X-API-Key: your_api_key"',
    'curl -X PATCH "https://api.example.com/v1/tenant/models/tenant_model_id" \\\n'
    '-H "Content-Type: application/json" \\\n'
    '-H "X-API-Key: your_api_key" \\\n'
    '-d \'{"name": "Updated Tenant Model"}\'',
    'curl -X DELETE "https://api.example.com/v1/tenant/models/tenant_model_id" '
    '-H "X-API-Key: your_api_key"',
]

SPACES = [
    'curl -X GET "https://api.example.com/v1/spaces" -H "X-API-Key: YOUR_API_KEY"',
    'curl -X POST "https://api.example.com/v1/spaces" \\\n'
    '-H "Content-Type: application/json" \\\n'
    '-H "X-API-Key: YOUR_API_KEY" \\\n'
    '-d \'{"name": "New Space", "description": "A description of the space"}\'',
    'curl -X GET "https://api.example.com/v1/spaces/12345" -H "X-API-Key: YOUR_API_KEY"',
    'curl -X PATCH "https://api.example.com/v1/spaces/12345" \\\n'
    '-H "Content-Type: application/json" \\\n'
    '-H "X-API-Key: YOUR_API_KEY" \\\n'
    '-d \'{"name": "Updated Space Name"}\'',
    'curl -X GET "https://api.example.com/v1/spaces/12345/background" -H "X-API-Key: YOUR_API_KEY"',
    'curl -X DELETE "https://api.example.com/v1/spaces/12345" -H "X-API-Key: YOUR_API_KEY"',
]


def run(line: str, server: Server, replacements: dict[str, str], out: Path) -> tuple[int, bytes]:
    """Run one documented curl line; return the status and the body."""
    line = line.replace(HOST, server.url)
    for placeholder, value in replacements.items():
        line = line.replace(placeholder, value)
    arguments = shlex.split(line.replace("\\\n", " "))
    assert arguments[0] == "curl"
    result = subprocess.run(
        [*arguments, "-sS", "-o", str(out), "-w", "%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(result.stdout), out.read_bytes()


def test_every_documented_line(server: Server, tmp_path: Path) -> None:
    server.start()
    base = server.url
    key = ready_key(base, "docs@example.com")
    headers = {"X-API-Key": key}
    out = tmp_path / "body"

    for index in range(11):  # enough for a second page, so that there is a cursor to follow
        httpx.post(
            f"{base}/v1/tenant/models",
            headers=headers | {"Idempotency-Key": f"k{index}"},
            json={"name": f"model {index}"},
        )
    first_page = httpx.get(f"{base}/v1/tenant/models?limit=10", headers=headers).json()
    replacements = {"your_api_key": key, "abc123": first_page["meta"]["next_cursor"]}

    status, body = run(TENANT_MODELS[0], server, replacements, out)
    assert status == 200
    assert len(json.loads(body)["data"]) == 1
    status, body = run(TENANT_MODELS[1], server, replacements, out)
    assert status == 201
    created = json.loads(body)
    assert created["name"] == "New Tenant Model"
    replayed = run(TENANT_MODELS[1], server, replacements, out)
    assert replayed == (201, body)
    replacements["tenant_model_id"] = created["tenant_model_id"]
    assert run(TENANT_MODELS[2], server, replacements, out) == (200, body)
    status, body = run(TENANT_MODELS[3], server, replacements, out)
    assert status == 200
    assert json.loads(body)["name"] == "Updated Tenant Model"
    assert run(TENANT_MODELS[4], server, replacements, out)[0] == 204

    replacements = {"YOUR_API_KEY": key}
    status, body = run(SPACES[0], server, replacements, out)
    assert (status, json.loads(body)["data"]) == (200, [])
    status, body = run(SPACES[1], server, replacements, out)
    assert status == 201
    space_id = json.loads(body)["space_id"]
    replacements["12345"] = space_id
    assert run(SPACES[2], server, replacements, out) == (200, body)
    status, body = run(SPACES[3], server, replacements, out)
    assert (status, json.loads(body)["name"]) == (200, "Updated Space Name")
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
        "0000000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
    )
    put = httpx.put(f"{base}/v1/spaces/{space_id}/background", headers=headers, content=png)
    assert put.status_code == 200
    assert run(SPACES[4], server, replacements, out) == (200, png)
    assert run(SPACES[5], server, replacements, out)[0] == 204
    assert server.stop() == 0
