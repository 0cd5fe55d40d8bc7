"""Recommendations through the client: training by a background task, then every
recommendation method, for uint32, uuid and hex ids, on planted taste groups.

Three disjoint groups of 30 items; 20 users per group rate 10 items of their group only.
One database per id type is trained once for the module; its answers must come from the
subject's group (at least 8 of the top 10)."""

import random
from dataclasses import dataclass
from typing import Any

import pytest
from xminds.api.client import CrossingMindsApiClient
from xminds.api.exceptions import NotFoundError, ServerUnavailable, WrongData

from tests.utils.xminds import ID_KINDS, IdKind, Logins

pytestmark = pytest.mark.slow

GROUPS = 3
ITEMS_PER_GROUP = 30
USERS_PER_GROUP = 20
RATED = 10
T0 = 1_700_000_000.0


@dataclass(frozen=True)
class Trained:
    api: CrossingMindsApiClient
    kind: IdKind
    items: list[Any]  # items[g * ITEMS_PER_GROUP + i] is in group g
    users: list[Any]  # users[g * USERS_PER_GROUP + u] is in group g
    rated: dict[Any, set[Any]]  # each user's items, as the client gives them back

    def group_of_item(self, returned: Any) -> int:
        index = [self.kind.returned(item) for item in self.items].index(returned)
        return index // ITEMS_PER_GROUP

    def in_group(self, returned: list[Any], group: int) -> int:
        return sum(self.group_of_item(item) == group for item in returned)


def _plant(api: CrossingMindsApiClient, kind: IdKind) -> Trained:
    items = kind.ids(GROUPS * ITEMS_PER_GROUP, start=100)
    users = kind.ids(GROUPS * USERS_PER_GROUP)
    api.create_item_property("group", "int32")
    api.create_item_property("tags", "unicode30", repeated=True)
    api.create_or_replace_items_bulk(
        [
            {"item_id": item, "group": i // ITEMS_PER_GROUP, "tags": [f"g{i // ITEMS_PER_GROUP}"]}
            for i, item in enumerate(items)
        ]
    )
    api.create_or_replace_users_bulk([{"user_id": user} for user in users])
    ratings, rated = [], {}
    for u, user in enumerate(users):
        group = u // USERS_PER_GROUP
        chosen = random.Random(u).sample(range(ITEMS_PER_GROUP), RATED)
        mine = [items[group * ITEMS_PER_GROUP + c] for c in chosen]
        rated[kind.returned(user)] = {kind.returned(item) for item in mine}
        ratings += [
            {"user_id": user, "item_id": item, "rating": 9.0, "timestamp": T0 + n}
            for n, item in enumerate(mine)
        ]
    api.create_or_update_ratings_bulk(ratings)
    api.trigger_and_wait_background_task("ml_model_retrain", timeout=120, sleep=0.2)
    return Trained(api, kind, items, users, rated)


@pytest.fixture(scope="module", params=["uint32", "uuid", "hex16"])
def trained(request: pytest.FixtureRequest, logins: Logins) -> Trained:
    kind = ID_KINDS[request.param]
    return _plant(logins.new_database_client(kind, kind, kind), kind)


def check_ids(t: Trained, returned: list[Any], amount: int) -> None:
    """Ids the client gives back for this database: existing items, no duplicates, at most
    `amount`, and of the id type."""
    known = {t.kind.returned(item) for item in t.items}
    assert 0 < len(returned) <= amount
    assert len(set(returned)) == len(returned)
    assert set(returned) <= known
    assert all(isinstance(item, type(next(iter(known)))) for item in returned)


class TestTraining:
    def test_the_task_completed_with_its_progress(self, trained: Trained) -> None:
        tasks = trained.api.get_background_tasks("ml_model_retrain")["tasks"]
        assert tasks[0]["status"] == "COMPLETED"
        assert "trained on" in tasks[0]["progress"]
        models = trained.api.list_trained_models()["trained_models"]
        algorithms = {model["algorithm"] for model in models}
        assert algorithms == {"implicit ALS", "implicit item-item co-occurrence", "popularity"}

    def test_an_unknown_task_is_refused(self, trained: Trained) -> None:
        with pytest.raises(WrongData):
            trained.api.trigger_background_task("make_coffee")

    def test_no_model_yet_is_not_ready(self, logins: Logins) -> None:
        kind = ID_KINDS["uint32"]
        api = logins.new_database_client(kind, kind, kind)
        api.create_or_replace_item({"item_id": 1})
        with pytest.raises(ServerUnavailable):
            api.get_reco_item_to_items(1)
        with pytest.raises(ServerUnavailable):
            api.get_precomputed_reco_item_to_items(1)


class TestItemToItems:
    def test_similar_items_come_from_the_group(self, trained: Trained) -> None:
        for group in range(GROUPS):
            item = trained.items[group * ITEMS_PER_GROUP + 1]
            returned = trained.api.get_reco_item_to_items(item, amt=10)["items_id"]
            check_ids(trained, returned, 10)
            assert trained.kind.returned(item) not in returned
            assert trained.in_group(returned, group) >= 8

    def test_a_cursor_gives_the_next_page(self, trained: Trained) -> None:
        item = trained.items[0]
        first = trained.api.get_reco_item_to_items(item, amt=5)
        second = trained.api.get_reco_item_to_items(item, amt=5, cursor=first["next_cursor"])
        assert not set(first["items_id"]) & set(second["items_id"])

    def test_filters_hold(self, trained: Trained) -> None:
        returned = trained.api.get_reco_item_to_items(
            trained.items[0], amt=10, filters=["group:eq:2"]
        )["items_id"]
        check_ids(trained, returned, 10)
        assert trained.in_group(returned, 2) == len(returned)

    def test_an_unknown_item_is_404(self, trained: Trained) -> None:
        with pytest.raises(NotFoundError) as raised:
            trained.api.get_reco_item_to_items(trained.kind.make(9999))
        assert raised.value.data["name"] == "ITEM_NOT_FOUND"

    def test_precomputed(self, trained: Trained) -> None:
        item = trained.items[ITEMS_PER_GROUP]
        answer = trained.api.get_precomputed_reco_item_to_items(item)["items_id"]
        check_ids(trained, answer[:10], 10)
        assert trained.in_group(answer[:10], 1) >= 8

    def test_item_properties_to_items(self, trained: Trained) -> None:
        returned = trained.api.get_reco_item_properties_to_items({"group": 1}, amt=10)["items_id"]
        check_ids(trained, returned, 10)
        assert trained.in_group(returned, 1) >= 8


class TestUserToItems:
    def test_a_users_recommendations_come_from_its_group(self, trained: Trained) -> None:
        for group in range(GROUPS):
            user = trained.users[group * USERS_PER_GROUP + 3]
            answer = trained.api.get_reco_user_to_items(user, amt=10, exclude_rated_items=True)
            returned = answer["items_id"]
            check_ids(trained, returned, 10)
            assert not set(returned) & trained.rated[trained.kind.returned(user)]
            assert trained.in_group(returned, group) >= 8

    def test_an_unknown_user_is_404(self, trained: Trained) -> None:
        with pytest.raises(NotFoundError) as raised:
            trained.api.get_reco_user_to_items(trained.kind.make(9999))
        assert raised.value.data["name"] == "USER_NOT_FOUND"

    def test_precomputed(self, trained: Trained) -> None:
        user = trained.users[USERS_PER_GROUP * 2]
        answer = trained.api.get_precomputed_reco_user_to_items(user)["items_id"]
        assert len(answer) > 0

    def test_with_context_items(self, trained: Trained) -> None:
        user = trained.users[0]
        context = [trained.items[ITEMS_PER_GROUP]]
        returned = trained.api.get_reco_user_to_items_w_ctx_items(context, user, amt=10)["items_id"]
        check_ids(trained, returned, 10)
        assert trained.kind.returned(context[0]) not in returned

    def test_users_group(self, trained: Trained) -> None:
        users = [trained.kind.wire(u) for u in trained.users[:3]]
        returned = trained.api.get_reco_users_group_to_items(users, amt=10)["items_id"]
        check_ids(trained, returned, 10)
        assert trained.in_group(returned, 0) >= 8

    def test_item_property_values(self, trained: Trained) -> None:
        user = trained.users[USERS_PER_GROUP]
        answer = trained.api.get_reco_user_to_item_properties(user, "tags", amt=2)
        assert answer["properties"][0] == "g1"


class TestSessions:
    def _ratings(self, trained: Trained, group: int) -> list[dict[str, Any]]:
        start = group * ITEMS_PER_GROUP
        return [{"item_id": item, "rating": 9} for item in trained.items[start : start + 4]]

    def test_session_to_items(self, trained: Trained) -> None:
        ratings = self._ratings(trained, 2)
        returned = trained.api.get_reco_session_to_items(
            ratings=ratings, amt=10, exclude_rated_items=True
        )["items_id"]
        check_ids(trained, returned, 10)
        assert not {trained.kind.returned(r["item_id"]) for r in ratings} & set(returned)
        assert trained.in_group(returned, 2) >= 8

    def test_session_with_context_items(self, trained: Trained) -> None:
        context = [trained.kind.wire(trained.items[ITEMS_PER_GROUP])]
        returned = trained.api.get_reco_session_to_items_w_ctx_items(context, amt=10)["items_id"]
        check_ids(trained, returned, 10)
        assert trained.in_group(returned, 1) >= 8

    def test_generic(self, trained: Trained) -> None:
        user = trained.users[USERS_PER_GROUP]
        returned = trained.api.get_reco_generic_to_items(user_id=user, amt=10)["items_id"]
        check_ids(trained, returned, 10)
        assert trained.in_group(returned, 1) >= 8
        item = trained.items[0]
        returned = trained.api.get_reco_generic_to_items(item_id=item, amt=10)["items_id"]
        assert trained.in_group(returned, 0) >= 8

    def test_item_property_values(self, trained: Trained) -> None:
        answer = trained.api.get_reco_session_to_item_properties(
            "tags",
            ratings=[
                {**r, "item_id": trained.kind.wire(r["item_id"])} for r in self._ratings(trained, 0)
            ],
        )
        assert answer["properties"][0] == "g0"
