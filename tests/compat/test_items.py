"""Items, through the client's 0.7 paths (`items/{id}/properties/`, `items-bulk/properties/`),
for each id type."""

from typing import Any

import pytest
from xminds.api.client import CrossingMindsApiClient
from xminds.api.exceptions import NotFoundError, WrongData, XMindsError

from tests.utils.xminds import IdKind, declare_properties, properties, rows

pytestmark = pytest.mark.slow


@pytest.fixture
def catalog(api: CrossingMindsApiClient) -> CrossingMindsApiClient:
    """The client on a database whose item and user properties are declared."""
    declare_properties(api)
    return api


def item_of(api: CrossingMindsApiClient, item_id: Any) -> dict[str, Any]:
    found: dict[str, Any] = api.get_item(item_id)["item"]
    return found


def all_pages(api: CrossingMindsApiClient, amt: int, **params: Any) -> list[dict[str, Any]]:
    """Every page of `list_items_paginated`, each at most `amt` long."""
    pages, cursor = [], None
    while True:
        page = api.list_items_paginated(amt=amt, cursor=cursor, **params)
        assert len(page["items"]) <= amt
        pages.append(page)
        if not page["has_next"]:
            return pages
        cursor = page["next_cursor"]
        assert cursor


class TestItems:
    def test_create_or_replace_item_and_get_item(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        item_id = kind.make(0)
        catalog.create_or_replace_item(
            {"item_id": item_id, "title": "Dune", "price": 9.5, "tags": ["sf", "classic"]}
        )
        item = item_of(catalog, item_id)
        assert item["item_id"] == kind.returned(item_id)
        assert properties(item, "item_id") == {
            "title": "Dune",
            "price": 9.5,
            "tags": ["classic", "sf"],
        }

    def test_create_or_update_item_replaces_every_property(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        item_id = kind.make(0)
        catalog.create_or_update_item({"item_id": item_id, "title": "Dune", "price": 9.5})
        catalog.create_or_update_item({"item_id": item_id, "title": "Dune Messiah"})
        assert properties(item_of(catalog, item_id), "item_id") == {"title": "Dune Messiah"}

    def test_an_unknown_item_is_not_found(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        item_id = kind.make(7)
        with pytest.raises(NotFoundError) as raised:
            catalog.get_item(item_id)
        assert raised.value.data["type"]
        assert str(raised.value.data["key"]) == str(kind.wire(item_id))

    def test_a_bulk_write_and_list_items(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        a, b, c = kind.ids(3)
        catalog.create_or_replace_items_bulk(
            [
                {"item_id": a, "title": "A", "price": 1.0},
                {"item_id": b, "title": "B"},
                {"item_id": c, "title": "C", "price": 3.0},
            ],
            items_m2m=[
                {
                    "name": "tags",
                    "array": [
                        {"item_index": 0, "value_id": "x"},
                        {"item_index": 0, "value_id": "y"},
                        {"item_index": 2, "value_id": "z"},
                    ],
                }
            ],
        )
        listed = catalog.list_items([a, c, kind.make(99)])
        assert rows(listed, "items") == {
            kind.returned(a): {"title": "A", "price": 1.0, "tags": ["x", "y"]},
            kind.returned(c): {"title": "C", "price": 3.0, "tags": ["z"]},
        }
        only_titles = catalog.list_items([a, b], properties=["title"])
        assert rows(only_titles, "items") == {
            kind.returned(a): {"title": "A"},
            kind.returned(b): {"title": "B"},
        }

    def test_create_or_update_items_bulk(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        a, b = kind.ids(2)
        catalog.create_or_update_items_bulk(
            [{"item_id": a, "title": "A"}, {"item_id": b, "title": "B"}],
            items_m2m=[{"name": "tags", "array": [{"item_index": 1, "value_id": "t"}]}],
        )
        catalog.create_or_update_items_bulk([{"item_id": a, "price": 2.0}])
        assert rows(catalog.list_items([a, b]), "items") == {
            kind.returned(a): {"price": 2.0},
            kind.returned(b): {"title": "B", "tags": ["t"]},
        }

    def test_list_items_paginated(self, catalog: CrossingMindsApiClient, kind: IdKind) -> None:
        ids = kind.ids(5)
        catalog.create_or_replace_items_bulk(
            [{"item_id": i, "title": f"t{n}", "price": float(n)} for n, i in enumerate(ids)]
        )
        pages = all_pages(catalog, amt=2)
        assert len(pages) == 3
        found: dict[Any, Any] = {}
        for page in pages:
            for item_id, values in rows(page, "items").items():
                assert item_id not in found
                found[item_id] = values
        assert found == {
            kind.returned(i): {"title": f"t{n}", "price": float(n)} for n, i in enumerate(ids)
        }

    def test_list_items_paginated_with_properties(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        ids = kind.ids(3)
        catalog.create_or_replace_items_bulk(
            [{"item_id": i, "title": "t", "price": 1.0} for i in ids]
        )
        page = catalog.list_items_paginated(properties=["price"])
        assert rows(page, "items") == {kind.returned(i): {"price": 1.0} for i in ids}

    def test_list_items_paginated_with_filters(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        """The reference filters the list; Tenantry may refuse filters instead,
        but never ignores them."""
        ids = kind.ids(3)
        catalog.create_or_replace_items_bulk(
            [{"item_id": i, "price": float(n * 4)} for n, i in enumerate(ids)]
        )
        try:
            page = catalog.list_items_paginated(filters=["price:gt:3"])
        except WrongData as refused:
            page, refusal = None, str(refused)
        if page is None:
            assert "filters" in refusal
            return
        assert set(rows(page, "items")) == {kind.returned(ids[1]), kind.returned(ids[2])}

    def test_partial_update_item(self, catalog: CrossingMindsApiClient, kind: IdKind) -> None:
        known, unknown = kind.ids(2)
        catalog.create_or_replace_item({"item_id": known, "title": "Dune", "price": 9.5})
        answer = catalog.partial_update_item({"item_id": known, "price": 7.5, "tags": ["a"]})
        assert answer["item_created"] is False
        assert answer["item_modified"] is True
        assert properties(item_of(catalog, known), "item_id") == {
            "title": "Dune",
            "price": 7.5,
            "tags": ["a"],
        }
        with pytest.raises(NotFoundError):
            catalog.partial_update_item({"item_id": unknown, "title": "X"})
        answer = catalog.partial_update_item(
            {"item_id": unknown, "title": "X"}, create_if_missing=True
        )
        assert answer["item_created"] is True
        assert properties(item_of(catalog, unknown), "item_id") == {"title": "X"}

    def test_partial_update_items_bulk(self, catalog: CrossingMindsApiClient, kind: IdKind) -> None:
        known, new = kind.ids(2)
        catalog.create_or_replace_item({"item_id": known, "title": "Dune", "tags": ["old"]})
        catalog.partial_update_items_bulk(
            [{"item_id": known, "price": 2.0}, {"item_id": new, "title": "New"}],
            items_m2m=[{"name": "tags", "array": [{"item_index": 0, "value_id": "fresh"}]}],
            create_if_missing=True,
        )
        assert rows(catalog.list_items([known, new]), "items") == {
            kind.returned(known): {"title": "Dune", "price": 2.0, "tags": ["fresh"]},
            kind.returned(new): {"title": "New"},
        }

    def test_partial_update_items_bulk_of_a_missing_item_writes_nothing(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        known, missing = kind.ids(2)
        catalog.create_or_replace_item({"item_id": known, "title": "Dune"})
        with pytest.raises(XMindsError):
            catalog.partial_update_items_bulk(
                [{"item_id": known, "title": "Changed"}, {"item_id": missing, "title": "X"}]
            )
        assert rows(catalog.list_items([known, missing]), "items") == {
            kind.returned(known): {"title": "Dune"}
        }

    def test_delete_item_props_keeps_ratings(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        item_id, user_id = kind.make(0), kind.make(1)
        catalog.create_or_replace_item({"item_id": item_id, "title": "Dune"})
        catalog.create_or_replace_user({"user_id": user_id})
        catalog.create_or_update_rating(user_id, item_id, 8.0)
        assert catalog.delete_item_props(item_id) is None
        with pytest.raises(NotFoundError):
            catalog.get_item(item_id)
        ratings = catalog.list_user_ratings(user_id)["user_ratings"]
        assert [r["item_id"] for r in ratings] == [kind.returned(item_id)]

    def test_delete_items_keeps_ratings(
        self, catalog: CrossingMindsApiClient, kind: IdKind
    ) -> None:
        a, b, c = kind.ids(3)
        user_id = kind.make(10)
        catalog.create_or_replace_items_bulk([{"item_id": i, "title": "t"} for i in (a, b, c)])
        catalog.create_or_replace_user({"user_id": user_id})
        catalog.create_or_update_rating(user_id, a, 5.0)
        assert catalog.delete_items([a, b]) is None
        assert set(rows(catalog.list_items([a, b, c]), "items")) == {kind.returned(c)}
        ratings = catalog.list_user_ratings(user_id)["user_ratings"]
        assert [r["item_id"] for r in ratings] == [kind.returned(a)]
