"""Interactions of users with items, through the client, for each id type."""

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


def events(interactions: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    """The interactions as sorted tuples of `keys`: a list, since one may happen twice."""
    return sorted(tuple(row[k] for k in keys) for row in interactions)


def every_page(list_page: Any, amt: int, **params: Any) -> list[dict[str, Any]]:
    """The interactions of every page of a cursor-paged list, each page at most `amt`."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        page = list_page(amt=amt, cursor=cursor, **params)
        assert len(page["interactions"]) <= amt
        found += page["interactions"]
        if not page["has_next"]:
            return found
        cursor = page["next_cursor"]
        assert cursor
    raise AssertionError("more than 20 pages")


class TestInteractions:
    def test_create_interaction_and_list_user_interactions(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, other), (a, b, _) = people
        api.create_interaction(user, a, "productView", timestamp=T0)
        api.create_interaction(user, a, "productView", timestamp=T0 + 1)
        api.create_interaction(user, b, "addToCart", timestamp=T0 + 2)
        api.create_interaction(other, b, "productView", timestamp=T0 + 3)
        answer = api.list_user_interactions(user)
        assert answer["has_next"] is False
        assert events(answer["interactions"], "item_id", "interaction_type", "timestamp") == [
            (kind.returned(a), "productView", T0),
            (kind.returned(a), "productView", T0 + 1),
            (kind.returned(b), "addToCart", T0 + 2),
        ]

    def test_an_interaction_without_a_timestamp_is_now(
        self, api: CrossingMindsApiClient, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, _), (a, *_) = people
        api.create_interaction(user, a, "productView")
        (interaction,) = api.list_user_interactions(user)["interactions"]
        assert interaction["timestamp"] > T0

    def test_create_user_interactions_bulk_and_types(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        """The client sends this method's ids as given: bytes ids go in base64url."""
        (user, _), items = people
        api.create_user_interactions_bulk(
            user,
            [
                {"item_id": kind.wire(i), "interaction_type": kind_of, "timestamp": T0 + n}
                for n, (i, kind_of) in enumerate(zip(items, ["click", "buy", "click"], strict=True))
            ],
        )
        clicks = api.list_user_interactions(user, interaction_types=["click"])["interactions"]
        assert events(clicks, "item_id", "timestamp") == [
            (kind.returned(items[0]), T0),
            (kind.returned(items[2]), T0 + 2),
        ]
        listed = every_page(lambda **p: api.list_user_interactions(user, **p), amt=2)
        assert len(listed) == 3

    def test_create_interactions_bulk_and_list_interactions(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        users, items = people
        sent = [
            {"user_id": u, "item_id": i, "interaction_type": "view", "timestamp": T0 + n}
            for n, (u, i) in enumerate((u, i) for u in users for i in items)
        ]
        answer = api.create_interactions_bulk(sent)
        assert isinstance(answer["warnings"], list)
        listed = every_page(api.list_interactions, amt=4)
        assert events(listed, "user_id", "item_id", "interaction_type", "timestamp") == sorted(
            (kind.returned(s["user_id"]), kind.returned(s["item_id"]), "view", s["timestamp"])
            for s in sent
        )

    def test_list_interactions_in_a_time_window(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, _), items = people
        api.create_interactions_bulk(
            [
                {
                    "user_id": user,
                    "item_id": i,
                    "interaction_type": "view",
                    "timestamp": T0 + 10 * n,
                }
                for n, i in enumerate(items)
            ]
        )
        window = api.list_interactions(start_timestamp=T0 + 5, end_timestamp=T0 + 15)
        assert events(window["interactions"], "item_id") == [(kind.returned(items[1]),)]

    def test_delete_user_all_deletes_interactions_and_resolved_sessions(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        """`delete_user_all` deletes the user's own interactions and those its resolved
        sessions gave it, and the resolutions; the sessions keep theirs, others keep
        everything."""
        (user, other), (a, b, _) = people
        session = kind.make(500)
        api.create_interaction(user, a, "productView", timestamp=T0)
        api.create_interaction(other, b, "productView", timestamp=T0 + 1)
        api.create_session_interaction(session, b, "addToCart", timestamp=T0 + 2)
        api.resolve_session(user, session, timestamp=T0 + 3)
        api.resolve_session(other, session, timestamp=T0 + 3)
        assert len(api.list_user_interactions(user)["interactions"]) == 2
        assert api.delete_user_all(user) is None
        with pytest.raises(NotFoundError):
            api.list_user_interactions(user)
        assert events(api.list_interactions()["interactions"], "user_id", "item_id") == [
            (kind.returned(other), kind.returned(b)),
            (kind.returned(other), kind.returned(b)),
        ]
        resolved = api.list_resolved_sessions_by_users()["resolved_sessions"]
        assert [r["user_id"] for r in resolved] == [kind.returned(other)]
        assert len(api.list_session_interactions(session)["interactions"]) == 1
