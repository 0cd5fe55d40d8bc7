"""`tenantry databases list|show|create|delete`, with the API's rules."""

import json

import httpx

from tenantry.config import Settings
from tests.utils.cli import tenantry
from tests.utils.factories import register


async def test_create_show_list_delete(client: httpx.AsyncClient, settings: Settings) -> None:
    org = await register(client)
    org_id = org.body["org_id"]
    created = await tenantry(
        settings,
        "databases",
        "create",
        "--org",
        org_id,
        "--name",
        "cli db",
        "--user-id-type",
        "int64",
    )
    assert created.exit_code == 0, created.output
    db_id = created.stdout.strip().splitlines()[-1]

    shown = await tenantry(settings, "databases", "show", db_id)
    assert shown.exit_code == 0, shown.output
    database = json.loads(shown.stdout)
    assert database["status"] == "ready"  # the command ran the provisioning job itself
    assert database["user_id_type"] == "int64"
    assert database["schema"].startswith("cli_db_")

    listed = await tenantry(settings, "databases", "list", "--org", org_id)
    assert db_id in listed.stdout.replace("│", " ").split()

    again = await tenantry(settings, "databases", "create", "--org", org_id, "--name", "cli db")
    assert again.exit_code == 1
    assert "DUPLICATED_DB_NAME" in again.output

    refused = await tenantry(settings, "databases", "delete", db_id, answer="n\n")
    assert refused.exit_code == 1
    deleted = await tenantry(settings, "databases", "delete", db_id, "--yes")
    assert deleted.exit_code == 0, deleted.output
    gone = await tenantry(settings, "databases", "show", db_id)
    assert gone.exit_code == 1


async def test_bad_arguments(settings: Settings) -> None:
    result = await tenantry(
        settings, "databases", "create", "--org", "x", "--name", "n", "--item-id-type", "nope"
    )
    assert result.exit_code == 2
    assert "uint32" in result.output
    result = await tenantry(settings, "databases", "create", "--org", "nobody", "--name", "n")
    assert result.exit_code == 2
    assert "no organization" in result.output
