"""Ratings, through the client, for each id type."""

from typing import Any

import pytest
from xminds.api.client import CrossingMindsApiClient
from xminds.api.exceptions import NotFoundError

from tests.utils.xminds import IdKind

pytestmark = pytest.mark.slow

T0 = 1_700_000_000.0


@pytest.fixture
def people(api: CrossingMindsApiClient, kind: IdKind) -> tuple[list[Any], list[Any]]:
    """Two users and three items in the client's database: their ids."""
    users, items = kind.ids(2), kind.ids(3, start=100)
    api.create_or_replace_users_bulk([{"user_id": u} for u in users])
    api.create_or_replace_items_bulk([{"item_id": i} for i in items])
    return users, items


def triples(ratings: list[dict[str, Any]], *keys: str) -> set[tuple[Any, ...]]:
    return {tuple(r[k] for k in keys) for r in ratings}


class TestRatings:
    def test_create_or_update_rating_and_list_user_ratings(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, _), (item, *_) = people
        assert api.create_or_update_rating(user, item, 7.5, timestamp=T0) is None
        api.create_or_update_rating(user, item, 8.0, timestamp=T0 + 1)
        answer = api.list_user_ratings(user)
        assert answer["has_next"] is False
        assert answer["user_ratings"] == [
            {"item_id": kind.returned(item), "rating": 8.0, "timestamp": T0 + 1}
        ]

    def test_a_rating_without_a_timestamp_is_now(
        self, api: CrossingMindsApiClient, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, _), (item, *_) = people
        before = api.list_user_ratings(user)["user_ratings"]
        assert before == []
        api.create_or_update_rating(user, item, 3)
        (rating,) = api.list_user_ratings(user)["user_ratings"]
        assert rating["rating"] == 3.0
        assert rating["timestamp"] > T0

    def test_user_ratings_bulk_and_pages(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, _), items = people
        ratings = [
            {"item_id": i, "rating": float(n + 1), "timestamp": T0 + n} for n, i in enumerate(items)
        ]
        assert api.create_or_update_user_ratings_bulk(user, ratings) is None
        first = api.list_user_ratings(user, amt=2, page=1)
        assert first["has_next"] is True
        assert first["next_page"] == 2
        second = api.list_user_ratings(user, amt=2, page=2)
        assert second["has_next"] is False
        listed = first["user_ratings"] + second["user_ratings"]
        assert len(listed) == 3
        assert triples(listed, "item_id", "rating", "timestamp") == {
            (kind.returned(i), float(n + 1), T0 + n) for n, i in enumerate(items)
        }

    def test_ratings_bulk_and_list_ratings(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        users, items = people
        ratings = [
            {"user_id": u, "item_id": i, "rating": 1.0 + n, "timestamp": T0}
            for n, (u, i) in enumerate((u, i) for u in users for i in items)
        ]
        assert api.create_or_update_ratings_bulk(ratings) is None
        listed, cursor = [], None
        for _ in range(6):
            page = api.list_ratings(amt=4, cursor=cursor)
            assert len(page["ratings"]) <= 4
            listed += page["ratings"]
            if not page["has_next"]:
                break
            cursor = page["next_cursor"]
        assert len(listed) == 6
        assert triples(listed, "user_id", "item_id", "rating") == {
            (kind.returned(r["user_id"]), kind.returned(r["item_id"]), r["rating"]) for r in ratings
        }

    def test_delete_rating(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, _), (a, b, _) = people
        api.create_or_update_rating(user, a, 5.0)
        api.create_or_update_rating(user, b, 6.0)
        assert api.delete_rating(user, a) is None
        assert [r["item_id"] for r in api.list_user_ratings(user)["user_ratings"]] == [
            kind.returned(b)
        ]
        with pytest.raises(NotFoundError) as raised:
            api.delete_rating(user, a)
        assert raised.value.data["type"]

    def test_delete_user_ratings(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, other), (a, b, _) = people
        api.create_or_update_user_ratings_bulk(
            user, [{"item_id": a, "rating": 5.0}, {"item_id": b, "rating": 6.0}]
        )
        api.create_or_update_rating(other, a, 2.0)
        assert api.delete_user_ratings(user) is None
        assert api.list_user_ratings(user)["user_ratings"] == []
        assert len(api.list_user_ratings(other)["user_ratings"]) == 1

    def test_rating_an_unknown_item_is_not_found(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, _), _ = people
        item = kind.make(999)
        with pytest.raises(NotFoundError) as raised:
            api.create_or_update_rating(user, item, 5.0)
        assert str(raised.value.data["key"]) == str(kind.wire(item))
