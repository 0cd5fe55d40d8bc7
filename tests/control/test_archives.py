"""`tenantry databases export|import`: a database with every kind of resource, archived
and loaded into a new database, answers every list and get as the original does."""

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tenantry.config import Settings
from tests.utils.cli import tenantry
from tests.utils.factories import (
    DOCUMENTS,
    MODELS,
    SPACES,
    add_database,
    add_document,
    create_space,
    create_tenant_model,
    login_to,
    make_api_key,
    register,
    wait_for_status,
)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)
ITEMS, USERS = ["1", "2", "3"], ["7", "8"]
SESSION = str(uuid.uuid4())


async def fill(client: httpx.AsyncClient, key: dict[str, str]) -> None:
    """One of every resource the data plane holds."""
    space = await create_space(client, key, name="archived", metadata={"deep": [1, {"a": 2.5}]})
    put = await client.put(
        f"{SPACES}/{space['space_id']}/background",
        headers=key | {"Content-Type": "image/png"},
        content=PNG,
    )
    assert put.status_code == 200, put.text
    await add_document(client, key, title="Doc", content="text", tenant_id="t1")
    await create_tenant_model(client, key)
    declared = {"property_name": "tags", "value_type": "unicode", "repeated": True}
    assert (await client.post("/v1/items-properties/", headers=key, json=declared)).is_success
    items = [{"item_id": item, "tags": ["a", item]} for item in ITEMS]
    assert (await client.put("/v1/items-bulk/", headers=key, json={"items": items})).is_success
    users = [{"user_id": user} for user in USERS]
    assert (await client.put("/v1/users-bulk/", headers=key, json={"users": users})).is_success
    ratings = [
        {"user_id": user, "item_id": item, "rating": 3.5, "timestamp": 1.25}
        for user in USERS
        for item in ITEMS
    ]
    response = await client.put("/v1/ratings-bulk/", headers=key, json={"ratings": ratings})
    assert response.is_success, response.text
    seen = [{"user_id": "7", "item_id": "1", "interaction_type": "click", "timestamp": 2}]
    response = await client.post("/v1/interactions-bulk/", headers=key, json={"interactions": seen})
    assert response.is_success, response.text
    body = {"interaction_type": "view", "timestamp": 3, "properties": {"page": "home"}}
    path = f"/v1/sessions/{SESSION}/items/2/interactions/"
    assert (await client.post(path, headers=key, json=body)).is_success
    assert (
        await client.post(f"/v1/sessions/{SESSION}/resolve/", headers=key, json={"user_id": "8"})
    ).is_success


async def answers(client: httpx.AsyncClient, key: dict[str, str]) -> dict[str, Any]:
    """Every list and get of the database, cursors left out (they are signed for it)."""
    seen: dict[str, Any] = {}

    async def get(path: str, **params: Any) -> Any:
        response = await client.get(path, headers=key, params=params)
        assert response.status_code == 200, (path, response.text)
        seen[path] = (
            response.json() if "json" in response.headers["content-type"] else response.content
        )
        return seen[path]

    spaces = await get(SPACES)
    for space in spaces["data"]:
        await get(f"{SPACES}/{space['space_id']}")
        await get(f"{SPACES}/{space['space_id']}/background")
    models = await get(MODELS)
    for model in models["data"]:
        await get(f"{MODELS}/{model['tenant_model_id']}")
    browsed = await client.post(f"{DOCUMENTS}/browse", headers=key, json={})
    seen["documents"] = [{k: v for k, v in d.items() if k != "url"} for d in browsed.json()["data"]]
    for path in (
        "/v1/items-bulk/",
        "/v1/users-bulk/",
        "/v1/items-properties/",
        "/v1/ratings-bulk/",
        "/v1/interactions-bulk/",
        "/v1/sessions-interactions-bulk/",
        "/v1/databases/current/",
    ):
        await get(path)
    for user in USERS:
        await get(f"/v1/users/{user}/ratings/")
    for page in seen.values():
        if isinstance(page, dict):
            for name in ("next_cursor", "meta", "id", "name", "schema"):
                page.pop(name, None)
    return seen


async def ready_key(client: httpx.AsyncClient, email: str, db_id: str) -> dict[str, str]:
    token = await login_to(client, email, db_id)
    await wait_for_status(client, token)
    return await make_api_key(client, token)


async def test_a_database_round_trips(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    org = await register(client)
    fields = {"item_id_type": "uint32", "user_id_type": "uint32", "session_id_type": "uuid"}
    original, _ = await add_database(client, org, name="original", **fields)
    key = await ready_key(client, org.email, original)
    await fill(client, key)
    archive = tmp_path / "original.jsonl"

    exported = await tenantry(settings, "databases", "export", original, "-o", str(archive))
    assert exported.exit_code == 0, exported.output
    lines = archive.read_bytes().splitlines()
    assert json.loads(lines[0])["database"]["item_id_type"] == "uint32"
    assert json.loads(lines[-1])["end"]["ratings"] == len(ITEMS) * len(USERS)
    org_id = org.body["org_id"]
    loaded = await tenantry(
        settings, "databases", "import", str(archive), "--org", org_id, "--name", "restored"
    )
    assert loaded.exit_code == 0, loaded.output
    restored = loaded.stdout.strip().splitlines()[-1]
    assert restored != original

    before = await answers(client, key)
    held = {path: len(repr(answer)) for path, answer in before.items()}
    assert all(size > 30 for size in held.values()), held  # every answer holds something
    assert await answers(client, await ready_key(client, org.email, restored)) == before


async def test_a_refused_archive_leaves_nothing(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    org = await register(client)
    key = org.key
    await wait_for_status(client, key)
    await create_space(client, key)
    archive = tmp_path / "cut.jsonl"
    exported = await tenantry(settings, "databases", "export", org.database_id, "-o", str(archive))
    assert exported.exit_code == 0, exported.output
    whole = archive.read_bytes().splitlines(keepends=True)
    archive.write_bytes(b"".join(whole[:-1]))  # no end line: cut short
    org_id = org.body["org_id"]
    to_org = ("--org", org_id, "--name", "restored")
    refused = await tenantry(settings, "databases", "import", str(archive), *to_org)
    assert (refused.exit_code, "cut short" in refused.output) == (2, True), refused.output
    listed = await client.get("/v1/databases/", headers=org.bearer)
    assert [database["id"] for database in listed.json()["databases"]] == [org.database_id]
    archive.write_bytes(b'{"format": "something else"}\n')
    refused = await tenantry(settings, "databases", "import", str(archive), *to_org)
    assert (refused.exit_code, "not a database archive" in refused.output) == (2, True)
