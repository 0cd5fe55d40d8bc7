"""Users, through the client's 0.7 paths (`users/{id}/properties/`, `users-bulk/properties/`),
for each id type."""

from typing import Any

import pytest
from xminds.api.client import CrossingMindsApiClient
from xminds.api.exceptions import NotFoundError, WrongData, XMindsError

from tests.utils.xminds import (
    ID_KINDS,
    IdKind,
    Org,
    database_client,
    declare_properties,
    properties,
    rows,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def catalog(api: CrossingMindsApiClient) -> CrossingMindsApiClient:
    """The client on a database whose item and user properties are declared."""
    declare_properties(api)
    return api


def user_of(api: CrossingMindsApiClient, user_id: Any) -> dict[str, Any]:
    found: dict[str, Any] = api.get_user(user_id)["user"]
    return found


def listed_users(api: CrossingMindsApiClient, users_id: list[Any]) -> dict[Any, Any]:
    """`list_users`' rows by id. 0.7's `list_users` decodes user rows with the item-id
    decoder (a client bug: KeyError('item_id') whenever item ids are not integers), so on
    those databases this reads the same route's raw answer through the client's transport."""
    if api._database["item_id_type"] == "uint32":
        return rows(api.list_users(users_id), "users")
    answer = api.api.post(
        "users-bulk/properties/list/", data={"users_id": api._userid2body(users_id)}
    )
    answer["users"] = api._body2userid(answer["users"])
    return rows(answer, "users")


class TestUsers:
    def test_create_or_replace_user_and_get_user(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        user_id = kind.make(0)
        catalog.create_or_replace_user(
            {"user_id": user_id, "name": "Jane", "age": 30, "tags": ["b", "a"]}
        )
        user = user_of(catalog, user_id)
        assert user["user_id"] == kind.returned(user_id)
        assert properties(user, "user_id") == {"name": "Jane", "age": 30, "tags": ["a", "b"]}

    def test_create_or_update_user_replaces_every_property(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        user_id = kind.make(0)
        catalog.create_or_update_user({"user_id": user_id, "name": "Jane", "age": 30})
        catalog.create_or_update_user({"user_id": user_id, "age": 31})
        assert properties(user_of(catalog, user_id), "user_id") == {"age": 31}

    def test_an_unknown_user_is_not_found(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        user_id = kind.make(7)
        with pytest.raises(NotFoundError) as raised:
            catalog.get_user(user_id)
        assert raised.value.data["type"]
        assert str(raised.value.data["key"]) == str(kind.wire(user_id))

    def test_a_bulk_write_and_list_users(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        a, b = kind.ids(2)
        catalog.create_or_replace_users_bulk(
            [{"user_id": a, "name": "A", "age": 20}, {"user_id": b, "name": "B"}],
            users_m2m=[{"name": "tags", "array": [{"user_index": 1, "value_id": "t"}]}],
        )
        assert listed_users(catalog, [a, b, kind.make(99)]) == {
            kind.returned(a): {"name": "A", "age": 20},
            kind.returned(b): {"name": "B", "tags": ["t"]},
        }

    def test_list_users_on_integer_item_ids(self, org: Org, kind: IdKind) -> None:
        """`list_users` itself, on the databases where 0.7 can decode its answer."""
        api = database_client(org, ID_KINDS["uint32"], kind)
        declare_properties(api)
        a, b = kind.ids(2)
        api.create_or_replace_users_bulk([{"user_id": a, "age": 1}, {"user_id": b, "age": 2}])
        answer = api.list_users([a, kind.make(50)])
        # Decoded as item ids, which are integers here: bytes user ids stay in base64url.
        assert rows(answer, "users") == {kind.wire(a): {"age": 1}}

    def test_create_or_update_users_bulk(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        a, b = kind.ids(2)
        catalog.create_or_update_users_bulk([{"user_id": a, "name": "A"}, {"user_id": b}])
        catalog.create_or_update_users_bulk([{"user_id": a, "age": 40}])
        assert listed_users(catalog, [a, b]) == {
            kind.returned(a): {"age": 40},
            kind.returned(b): {},
        }

    def test_list_users_paginated(self, catalog: CrossingMindsApiClient, kind: IdKind) -> None:
        ids = kind.ids(5)
        catalog.create_or_replace_users_bulk(
            [{"user_id": u, "name": f"u{n}", "age": n} for n, u in enumerate(ids)]
        )
        found: dict[Any, Any] = {}
        cursor = None
        for _ in range(5):
            page = catalog.list_users_paginated(amt=2, cursor=cursor)
            assert len(page["users"]) <= 2
            for user_id, values in rows(page, "users").items():
                assert user_id not in found
                found[user_id] = values
            if not page["has_next"]:
                break
            cursor = page["next_cursor"]
        assert found == {kind.returned(u): {"name": f"u{n}", "age": n} for n, u in enumerate(ids)}
        only_ages = catalog.list_users_paginated(properties=["age"])
        assert rows(only_ages, "users") == {kind.returned(u): {"age": n} for n, u in enumerate(ids)}

    def test_list_users_paginated_with_filters(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        """The reference filters the list; Tenantry may refuse filters instead,
        but never ignores them."""
        ids = kind.ids(3)
        catalog.create_or_replace_users_bulk(
            [{"user_id": u, "age": 10 * n} for n, u in enumerate(ids)]
        )
        try:
            page = catalog.list_users_paginated(filters=["age:lt:15"])
        except WrongData as refused:
            page, refusal = None, str(refused)
        if page is None:
            assert "filters" in refusal
            return
        assert set(rows(page, "users")) == {kind.returned(ids[0]), kind.returned(ids[1])}

    def test_partial_update_user(self, catalog: CrossingMindsApiClient, kind: IdKind) -> None:
        known, unknown = kind.ids(2)
        catalog.create_or_replace_user({"user_id": known, "name": "Jane", "age": 30})
        answer = catalog.partial_update_user({"user_id": known, "age": 31})
        assert answer["user_created"] is False
        assert answer["user_modified"] is True
        assert properties(user_of(catalog, known), "user_id") == {"name": "Jane", "age": 31}
        with pytest.raises(NotFoundError):
            catalog.partial_update_user({"user_id": unknown, "age": 1})
        answer = catalog.partial_update_user({"user_id": unknown, "age": 1}, create_if_missing=True)
        assert answer["user_created"] is True
        assert properties(user_of(catalog, unknown), "user_id") == {"age": 1}

    def test_partial_update_users_bulk(self, catalog: CrossingMindsApiClient, kind: IdKind) -> None:
        known, new = kind.ids(2)
        catalog.create_or_replace_user({"user_id": known, "name": "Jane", "age": 30})
        catalog.partial_update_users_bulk(
            [{"user_id": known, "age": 31}, {"user_id": new, "name": "New"}],
            users_m2m=[{"name": "tags", "array": [{"user_index": 1, "value_id": "n"}]}],
            create_if_missing=True,
        )
        assert listed_users(catalog, [known, new]) == {
            kind.returned(known): {"name": "Jane", "age": 31},
            kind.returned(new): {"name": "New", "tags": ["n"]},
        }
        with pytest.raises(XMindsError):
            catalog.partial_update_users_bulk(
                [{"user_id": known, "age": 99}, {"user_id": kind.make(9), "age": 1}]
            )
        assert properties(user_of(catalog, known), "user_id")["age"] == 31

    def rated_user(self, api: CrossingMindsApiClient, kind: IdKind, n: int = 0) -> Any:
        """A user with properties who rated an item; its id."""
        user_id, item_id = kind.make(n), kind.make(100 + n)
        api.create_or_replace_item({"item_id": item_id, "title": "Dune"})
        api.create_or_replace_user({"user_id": user_id, "name": "Jane"})
        api.create_or_update_rating(user_id, item_id, 6.0)
        return user_id

    def test_delete_user_props_keeps_ratings(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        user_id = self.rated_user(catalog, kind)
        assert catalog.delete_user_props(user_id) is None
        with pytest.raises(NotFoundError):
            catalog.get_user(user_id)
        assert len(catalog.list_user_ratings(user_id)["user_ratings"]) == 1

    def test_delete_user_is_delete_user_props(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        user_id = self.rated_user(catalog, kind)
        assert catalog.delete_user(user_id) is None
        with pytest.raises(NotFoundError):
            catalog.get_user(user_id)
        assert len(catalog.list_user_ratings(user_id)["user_ratings"]) == 1

    def test_delete_user_all_deletes_ratings_too(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        user_id = self.rated_user(catalog, kind)
        other = self.rated_user(catalog, kind, 1)
        assert catalog.delete_user_all(user_id) is None
        with pytest.raises(NotFoundError):
            catalog.get_user(user_id)
        ratings = catalog.list_ratings()["ratings"]
        assert [r["user_id"] for r in ratings] == [kind.returned(other)]

    def test_delete_users_keeps_ratings(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        a = self.rated_user(catalog, kind)
        b, c = kind.ids(2, start=50)
        catalog.create_or_replace_users_bulk([{"user_id": b}, {"user_id": c}])
        assert catalog.delete_users([a, b]) is None
        assert set(listed_users(catalog, [a, b, c])) == {kind.returned(c)}
        assert len(catalog.list_user_ratings(a)["user_ratings"]) == 1
