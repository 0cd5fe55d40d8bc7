"""Item and user property schemas, through the client: declared before use, checked on
every write."""

from typing import Any

import pytest
from xminds.api.client import CrossingMindsApiClient
from xminds.api.exceptions import DuplicatedError, NotFoundError, WrongData

from tests.utils.xminds import ID_KINDS, Logins, properties

pytestmark = pytest.mark.slow

# One value of each value type, and a value of the wrong type for it.
VALUES: dict[str, tuple[Any, Any]] = {
    "int8": (-128, 128),
    "int64": (-(2**63), "1"),
    "uint8": (255, -1),
    "uint32": (4_000_000_000, 1.5),
    "float32": (0.5, "0.5"),
    "float64": (1e300, True),
    "bool": (True, 1),
    "unicode8": ("eight ch", "nine char"),
    "uuid": ("123e4567-e89b-12d3-a456-426614174000", "not-a-uuid"),
}


@pytest.fixture
def api(logins: Logins) -> CrossingMindsApiClient:
    """A client on a new database with integer ids."""
    return logins.new_database_client(ID_KINDS["uint32"], ID_KINDS["uint32"])


class TestItemProperties:
    def test_create_get_list_delete(self, api: CrossingMindsApiClient) -> None:
        api.create_item_property("title", "unicode64")
        api.create_item_property("tags", "unicode30", repeated=True)
        got = api.get_item_property("title")
        assert got["property_name"] == "title"
        assert got["value_type"] == "unicode64"
        assert got["repeated"] is False
        listed = {p["property_name"]: p for p in api.list_item_properties()["properties"]}
        assert listed["tags"]["value_type"] == "unicode30"
        assert listed["tags"]["repeated"] is True
        assert set(listed) == {"title", "tags"}
        api.delete_item_property("tags")
        assert [p["property_name"] for p in api.list_item_properties()["properties"]] == ["title"]
        with pytest.raises(NotFoundError) as raised:
            api.get_item_property("tags")
        assert raised.value.data["type"]
        assert raised.value.data["key"] == "tags"

    def test_a_name_taken_is_duplicated(self, api: CrossingMindsApiClient) -> None:
        api.create_item_property("title", "unicode64")
        with pytest.raises(DuplicatedError) as raised:
            api.create_item_property("title", "float32")
        assert raised.value.data["key"] == "title"
        assert api.get_item_property("title")["value_type"] == "unicode64"

    def test_an_unknown_value_type_is_wrong_data(self, api: CrossingMindsApiClient) -> None:
        with pytest.raises(WrongData):
            api.create_item_property("title", "text-of-any-kind")
        assert api.list_item_properties()["properties"] == []

    def test_deleting_an_unknown_property_is_not_found(self, api: CrossingMindsApiClient) -> None:
        with pytest.raises(NotFoundError) as raised:
            api.delete_item_property("nothing")
        assert raised.value.data["key"] == "nothing"

    def test_every_value_type_round_trips(self, api: CrossingMindsApiClient) -> None:
        for value_type in VALUES:
            api.create_item_property(f"p_{value_type}", value_type)
        item = {f"p_{value_type}": good for value_type, (good, _) in VALUES.items()}
        api.create_or_replace_item({"item_id": 1, **item})
        assert properties(api.get_item(1)["item"], "item_id") == item

    @pytest.mark.parametrize("value_type", list(VALUES))
    def test_a_value_of_the_wrong_type_is_refused(
        self, api: CrossingMindsApiClient, value_type: str
    ) -> None:
        api.create_item_property("checked_value", value_type)
        with pytest.raises(WrongData) as raised:
            api.create_or_replace_item({"item_id": 1, "checked_value": VALUES[value_type][1]})
        assert "checked_value" in str(raised.value)  # the client shows error_data
        with pytest.raises(NotFoundError):
            api.get_item(1)

    def test_an_undeclared_property_is_refused_and_nothing_written(
        self, api: CrossingMindsApiClient
    ) -> None:
        api.create_item_property("title", "unicode64")
        with pytest.raises(WrongData) as raised:
            api.create_or_replace_items_bulk(
                [{"item_id": 1, "title": "Dune"}, {"item_id": 2, "color": "red"}]
            )
        assert "color" in str(raised.value)
        assert api.list_items_paginated()["items"] == []
        with pytest.raises(WrongData):
            api.partial_update_item({"item_id": 1, "color": "red"}, create_if_missing=True)
        assert api.list_items([1, 2])["items"] == []

    def test_a_repeated_property_takes_a_list(self, api: CrossingMindsApiClient) -> None:
        api.create_item_property("tags", "unicode30", repeated=True)
        api.create_item_property("title", "unicode64")
        with pytest.raises(WrongData):
            api.create_or_replace_item({"item_id": 1, "tags": ["a", 2]})
        with pytest.raises(WrongData):
            api.create_or_replace_item({"item_id": 1, "title": ["not", "repeated"]})
        api.create_or_replace_item({"item_id": 1, "tags": ["a", "b"]})
        assert sorted(api.get_item(1)["item"]["tags"]) == ["a", "b"]


class TestUserProperties:
    def test_create_get_list_delete(self, api: CrossingMindsApiClient) -> None:
        api.create_user_property("age", "uint8", indexed=True)
        api.create_user_property("tags", "unicode30", repeated=True)
        got = api.get_user_property("age")
        assert got["property_name"] == "age"
        assert got["value_type"] == "uint8"
        assert got["repeated"] is False
        assert got["indexed"] is True
        listed = {p["property_name"]: p for p in api.list_user_properties()["properties"]}
        assert listed["tags"]["repeated"] is True
        assert listed["tags"]["indexed"] is False
        assert set(listed) == {"age", "tags"}
        api.delete_user_property("age")
        assert [p["property_name"] for p in api.list_user_properties()["properties"]] == ["tags"]
        with pytest.raises(NotFoundError) as raised:
            api.get_user_property("age")
        assert raised.value.data["key"] == "age"

    def test_item_and_user_properties_are_apart(self, api: CrossingMindsApiClient) -> None:
        api.create_user_property("name", "unicode64")
        api.create_item_property("name", "float32")
        assert api.get_user_property("name")["value_type"] == "unicode64"
        assert api.get_item_property("name")["value_type"] == "float32"

    def test_a_name_taken_is_duplicated(self, api: CrossingMindsApiClient) -> None:
        api.create_user_property("age", "uint8")
        with pytest.raises(DuplicatedError):
            api.create_user_property("age", "uint8")

    def test_undeclared_and_ill_typed_values_are_refused(self, api: CrossingMindsApiClient) -> None:
        api.create_user_property("age", "uint8")
        with pytest.raises(WrongData) as raised:
            api.create_or_replace_user({"user_id": 1, "age": 300})
        assert "age" in str(raised.value)
        with pytest.raises(WrongData) as raised:
            api.create_or_replace_users_bulk(
                [{"user_id": 1, "age": 30}, {"user_id": 2, "shoe_size": 1}]
            )
        assert "shoe_size" in str(raised.value)
        assert api.list_users_paginated()["users"] == []
