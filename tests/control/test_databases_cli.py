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


async def test_list_fits_a_terminal_or_says_it_all_in_json(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    org = await register(client, "a-rather-long-local-part-for-its-schema")
    org_id, db_id = org.body["org_id"], org.body["database"]["id"]
    table = await tenantry(settings, "databases", "list", "--org", org_id, columns=80)
    assert table.exit_code == 0, table.output
    assert max(map(len, table.stdout.splitlines())) <= 80
    [row] = [line for line in table.stdout.splitlines() if db_id in line]
    assert row.split()[0] == db_id  # whole, on one line, to copy

    listed = await tenantry(settings, "databases", "list", "--org", org_id, "--output", "json")
    [database] = json.loads(listed.stdout)
    assert (database["id"], database["org_id"]) == (db_id, org_id)
    assert database["schema"].startswith("a_rather_long_local_part_for_its_schema_")


async def test_bad_arguments(settings: Settings) -> None:
    result = await tenantry(
        settings, "databases", "create", "--org", "x", "--name", "n", "--item-id-type", "nope"
    )
    assert result.exit_code == 2
    assert "uint32" in result.output
    result = await tenantry(settings, "databases", "create", "--org", "nobody", "--name", "n")
    assert result.exit_code == 2
    assert "no organization" in result.output
