"""Databases, through the client."""

import uuid

import pytest
from xminds.api.exceptions import DuplicatedError, WrongData, XMindsError

from tests.utils.factories import PASSWORD
from tests.utils.xminds import Org, json_client, new_database, root_client, wait_ready

pytestmark = pytest.mark.slow


def unique_name() -> str:
    return f"db_{uuid.uuid4().hex[:12]}"


class TestDatabases:
    def test_create_and_get(self, org: Org) -> None:
        root = root_client(org)
        name = unique_name()
        created = root.create_database(
            name=name,
            description="a shop",
            item_id_type="uuid",
            user_id_type="uint32",
            session_id_type="hex16",
            metadata={"owner": "jane"},
        )
        assert isinstance(created["id"], str)
        root.login_individual(org.email, PASSWORD, db_id=created["id"])
        database = root.get_database()
        assert database["id"] == created["id"]
        assert database["name"] == name
        assert database["description"] == "a shop"
        assert database["item_id_type"] == "uuid"
        assert database["user_id_type"] == "uint32"
        assert database["session_id_type"] == "hex16"
        assert database["counters"] == {"rating": 0, "user": 0, "item": 0}
        assert database["metadata"] == {"owner": "jane"}
        assert isinstance(database["core_config"], dict)

    def test_get_all_databases_by_page(self, org: Org) -> None:
        root = root_client(org)
        made = {new_database(root, "uint32", "uint32") for _ in range(2)}
        first = root.get_all_databases(amt=2, page=1)
        assert first["has_next"] is True
        assert first["next_page"] == 2
        second = root.get_all_databases(amt=2, page=2)
        assert second["has_next"] is False
        listed = first["databases"] + second["databases"]
        ids = [database["id"] for database in listed]
        assert len(ids) == len(set(ids)) == 3  # the registration's and these two
        assert made | {org.body["database"]["id"]} == set(ids)
        for database in listed:
            assert {"name", "description", "item_id_type", "user_id_type"} <= set(database)

    def test_a_name_taken_is_duplicated(self, org: Org) -> None:
        root = root_client(org)
        name = unique_name()
        new_database(root, "uint32", "uint32", name=name)
        with pytest.raises(DuplicatedError) as raised:
            new_database(root, "uint32", "uint32", name=name)
        assert raised.value.data["key"]

    def test_an_unknown_id_type_is_wrong_data(self, org: Org) -> None:
        with pytest.raises(WrongData):
            new_database(root_client(org), "float32", "uint32")

    def test_partial_update(self, org: Org) -> None:
        root = root_client(org)
        root.login_individual(org.email, PASSWORD, db_id=new_database(root, "uint32", "uint32"))
        root.partial_update_database(description="renamed", metadata={"a": {"b": 1}})
        root.partial_update_database(metadata={"a": {"c": 2}, "tags": ["x"]})
        root.partial_update_database(metadata={"tags": ["y"]}, preserve=True)
        database = root.get_database()
        assert database["description"] == "renamed"
        assert database["metadata"] == {"a": {"b": 1, "c": 2}, "tags": ["x", "y"]}

    def test_preview_changes_nothing(self, org: Org) -> None:
        root = root_client(org)
        root.login_individual(
            org.email,
            PASSWORD,
            db_id=new_database(root, "uint32", "uint32", description="old", metadata={"a": 1}),
        )
        preview = root.partial_update_database_preview(description="new", metadata={"b": 2})
        assert preview["metadata_old"]["description"] == "old"
        assert preview["metadata_old"]["metadata"] == {"a": 1}
        assert preview["metadata_new"]["description"] == "new"
        assert preview["metadata_new"]["metadata"] == {"a": 1, "b": 2}
        database = root.get_database()
        assert (database["description"], database["metadata"]) == ("old", {"a": 1})

    def test_status_and_wait_until_ready(self, org: Org) -> None:
        root = root_client(org)
        root.login_individual(org.email, PASSWORD, db_id=new_database(root, "uint32", "uint32"))
        assert root.status()["status"] in {"pending", "ready"}
        assert root.wait_until_ready(timeout=30, sleep=0.2) is None
        assert root.status() == {"status": "ready"}

    def test_delete(self, org: Org) -> None:
        root = root_client(org)
        db_id = new_database(root, "uint32", "uint32")
        root.login_individual(org.email, PASSWORD, db_id=db_id)
        wait_ready(root)
        assert root.delete_database() is None
        root.login_individual(org.email, PASSWORD)
        assert db_id not in [database["id"] for database in root.get_all_databases()["databases"]]
        with pytest.raises(XMindsError):
            json_client(org.url).login_individual(org.email, PASSWORD, db_id=db_id)
