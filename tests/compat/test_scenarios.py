"""Scenarios through the client: cases, A/B tests, conditions and aliases created, read,
listed, replaced and deleted; defaults set, read and unset; a scenario in use never deleted,
a cycle never made; every refusal the client's error, with nothing written. Then applied
to the recommendations of a trained database, for uint32, uuid and hex ids: a scenario named
or the default, A/B splits stable per user, conditions on users and items, aliases, and the
answer's `evaluated_scenarios`."""

import random
from dataclasses import dataclass
from typing import Any

import pytest
from xminds.api.client import CrossingMindsApiClient
from xminds.api.exceptions import NotFoundError, WrongData

from tests.utils.xminds import ID_KINDS, IdKind, Logins

pytestmark = pytest.mark.slow

P2I = "profile_to_items"


def case(**rules: Any) -> dict[str, Any]:
    return {"scenario_type": "case", "case": rules}


def declare(api: CrossingMindsApiClient) -> None:
    api.create_item_property("price", "float32")
    api.create_item_property("tags", "unicode30", repeated=True)
    api.create_user_property("age", "uint8")


def names(api: CrossingMindsApiClient) -> list[tuple[str, str]]:
    return [(s["reco_type"], s["name"]) for s in api.list_scenarios()["scenarios"]]


def test_cases(api: CrossingMindsApiClient) -> None:
    declare(api)
    rules = {
        "filters": [{"property_name": "price", "op": "lte", "value": 10.5}, "tags:notempty"],
        "reranking": [{"property_name": "tags", "op": "diversity", "weight": 0.8}],
        "exclude_rated_items": True,
        "amt": 20,
    }
    assert api.create_or_replace_scenario(P2I, "home", case(**rules)) == {"warnings": []}
    assert api.get_scenario(P2I, "home") == {
        "name": "home",
        "reco_type": P2I,
        "scenario": case(
            filters=[
                {"property_name": "price", "op": "lte", "value": 10.5},
                {"property_name": "tags", "op": "notempty"},
            ],
            reranking=[{"property_name": "tags", "op": "diversity", "weight": 0.8}],
            exclude_rated_items=True,
            amt=20,
        ),
    }
    api.create_or_replace_scenario("item_to_items", "page", case(filters=["tags:empty"]))
    assert names(api) == [("item_to_items", "page"), (P2I, "home")]
    answer = api.create_or_replace_scenario(P2I, "home", case(algorithms="als"))
    assert [warning.split()[0] for warning in answer["warnings"]] == ["algorithms"]
    assert api.get_scenario(P2I, "home")["scenario"]["case"]["algorithms"] == "als"
    api.delete_scenario(P2I, "home")
    with pytest.raises(NotFoundError):
        api.get_scenario(P2I, "home")
    with pytest.raises(NotFoundError):
        api.delete_scenario(P2I, "home")
    assert names(api) == [("item_to_items", "page")]


def test_defaults(api: CrossingMindsApiClient) -> None:
    with pytest.raises(NotFoundError):
        api.get_default_scenario(P2I)
    with pytest.raises(NotFoundError):
        api.set_default_scenario(P2I, "home")
    api.create_or_replace_scenario(P2I, "home", case(amt=5))
    api.set_default_scenario(P2I, "home")
    assert api.get_default_scenario(P2I) == {"name": "home"}
    with pytest.raises(WrongData):
        api.delete_scenario(P2I, "home")
    api.unset_default_scenario(P2I)
    with pytest.raises(NotFoundError):
        api.get_default_scenario(P2I)
    with pytest.raises(NotFoundError):
        api.unset_default_scenario(P2I)
    api.delete_scenario(P2I, "home")


def test_a_graph_of_scenarios(api: CrossingMindsApiClient) -> None:
    declare(api)
    api.create_or_replace_scenario(P2I, "cheap", case(filters=["price:lt:5"]))
    api.create_or_replace_scenario(P2I, "varied", case(reranking=["tags:diversity"]))
    ab = {"id": "spring", "scenario_a": "cheap", "scenario_b": "varied"}
    api.create_or_replace_scenario(P2I, "split", {"scenario_type": "ab_test", "ab_test": ab})
    young = {"property_name": "age", "op": "lt", "value": 18}
    condition = {"condition_type": "user_property", "if": young, "then": "split", "else": "cheap"}
    api.create_or_replace_scenario(
        P2I, "by_age", {"scenario_type": "condition", "condition": condition}
    )
    alias = {"scenario_type": "alias", "alias": {"to": "by_age"}}
    api.create_or_replace_scenario(P2I, "home", alias)
    assert api.get_scenario(P2I, "split")["scenario"] == {"scenario_type": "ab_test", "ab_test": ab}
    assert api.get_scenario(P2I, "by_age")["scenario"]["condition"] == condition
    assert api.get_scenario(P2I, "home")["scenario"] == alias
    with pytest.raises(WrongData):  # split names it
        api.delete_scenario(P2I, "varied")
    with pytest.raises(WrongData):  # cheap -> home -> by_age -> cheap
        api.create_or_replace_scenario(
            P2I, "cheap", {"scenario_type": "alias", "alias": {"to": "home"}}
        )
    with pytest.raises(NotFoundError):
        api.create_or_replace_scenario(
            P2I, "other", {"scenario_type": "alias", "alias": {"to": "nope"}}
        )
    for name in ("home", "by_age", "split", "varied", "cheap"):
        api.delete_scenario(P2I, name)
    assert names(api) == []


@pytest.mark.parametrize(
    "scenario",
    [
        case(filters=["colour:eq:red"]),
        case(filters=["price:eq:1"]),
        case(reranking=["price:diversity:-1"]),
        case(amt=65),
        {"scenario_type": "case"},
        {"scenario_type": "alias", "alias": {"to": "a"}, "case": {}},
        {
            "scenario_type": "condition",
            "condition": {
                "condition_type": "user_function",
                "if": {"function_name": "n_ratings", "op": "lt", "value": "x"},
                "then": "a",
                "else": "a",
            },
        },
    ],
)
def test_refused(api: CrossingMindsApiClient, scenario: dict[str, Any]) -> None:
    declare(api)
    api.create_or_replace_scenario(P2I, "a", case())
    with pytest.raises(WrongData):
        api.create_or_replace_scenario(P2I, "bad", scenario)
    assert names(api) == [(P2I, "a")]


# --- applied to recommendations ------------------------------------------------------------

GROUPS, ITEMS_PER_GROUP, USERS_PER_GROUP, RATED = 2, 20, 10, 8
AGES = (15, 40)  # of each group's users


@dataclass(frozen=True)
class Shop:
    """A trained database: items and users in two taste groups, each user rating items of
    its own group only; group 0's users are minors."""

    api: CrossingMindsApiClient
    kind: IdKind
    items: list[Any]
    users: list[Any]

    def group_of(self, returned: Any) -> int:
        index = [self.kind.returned(item) for item in self.items].index(returned)
        return index // ITEMS_PER_GROUP

    def groups(self, answer: dict[str, Any]) -> set[int]:
        assert answer["items_id"]
        return {self.group_of(item) for item in answer["items_id"]}

    def for_user(self, user: Any, **options: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.api.get_reco_user_to_items(user, amt=5, **options)
        return answer


@pytest.fixture(scope="module", params=["uint32", "uuid", "hex16"])
def shop(request: pytest.FixtureRequest, logins: Logins) -> Shop:
    kind = ID_KINDS[request.param]
    api = logins.new_database_client(kind, kind, kind)
    items = kind.ids(GROUPS * ITEMS_PER_GROUP, start=500)
    users = kind.ids(GROUPS * USERS_PER_GROUP, start=50)
    api.create_item_property("group", "int32")
    api.create_user_property("age", "uint8")
    api.create_or_replace_items_bulk(
        [{"item_id": item, "group": i // ITEMS_PER_GROUP} for i, item in enumerate(items)]
    )
    api.create_or_replace_users_bulk(
        [{"user_id": user, "age": AGES[u // USERS_PER_GROUP]} for u, user in enumerate(users)]
    )
    ratings = []
    for u, user in enumerate(users):
        group = u // USERS_PER_GROUP
        for n, c in enumerate(random.Random(u).sample(range(ITEMS_PER_GROUP), RATED)):
            item = items[group * ITEMS_PER_GROUP + c]
            ratings.append({"user_id": user, "item_id": item, "rating": 9.0, "timestamp": n})
    api.create_or_update_ratings_bulk(ratings)
    api.trigger_and_wait_background_task("ml_model_retrain", timeout=120, sleep=0.2)
    return Shop(api, kind, items, users)


def only(group: int) -> dict[str, Any]:
    return case(filters=[f"group:eq:{group}"])


def test_named_and_default(shop: Shop) -> None:
    api, user = shop.api, shop.users[0]
    api.create_or_replace_scenario(P2I, "only_1", only(1))
    api.create_or_replace_scenario(P2I, "three", case(amt=3))
    named = shop.for_user(user, scenario="only_1")
    assert shop.groups(named) == {1}
    assert named["evaluated_scenarios"] == {
        "runtime": [{"scenario_type": "case", "scenario_name": "only_1"}]
    }
    assert len(api.get_reco_user_to_items(user, scenario="three")["items_id"]) == 3
    assert shop.groups(shop.for_user(user)) == {0}
    api.set_default_scenario(P2I, "only_1")
    try:
        by_default = shop.for_user(user)
        assert shop.groups(by_default) == {1}
        assert by_default["evaluated_scenarios"] == {
            "default": [{"scenario_type": "case", "scenario_name": "only_1"}]
        }
        skipped = shop.for_user(user, skip_default_scenario=True)
        assert shop.groups(skipped) == {0}
        assert not skipped.get("evaluated_scenarios")
        both = shop.for_user(user, filters=["group:eq:0"])
        assert both["items_id"] == []  # the request's filter and the default's both apply
    finally:
        api.unset_default_scenario(P2I)
    with pytest.raises(NotFoundError):
        shop.for_user(user, scenario="nowhere")


def test_ab_split_is_stable_per_user(shop: Shop) -> None:
    api = shop.api
    api.create_or_replace_scenario(P2I, "ab_0", only(0))
    api.create_or_replace_scenario(P2I, "ab_1", only(1))
    test = {"id": "split", "scenario_a": "ab_0", "scenario_b": "ab_1"}
    api.create_or_replace_scenario(P2I, "ab", {"scenario_type": "ab_test", "ab_test": test})
    chosen = []
    for user in shop.users:
        first, again = shop.for_user(user, scenario="ab"), shop.for_user(user, scenario="ab")
        assert again == first
        steps = first["evaluated_scenarios"]["runtime"]
        assert steps[0] == {
            "scenario_type": "ab_test",
            "scenario_name": "ab",
            "to": steps[1]["scenario_name"],
        }
        group = int(steps[1]["scenario_name"][-1])
        assert shop.groups(first) == {group}
        chosen.append(group)
    assert set(chosen) == {0, 1}


def test_conditions_and_aliases(shop: Shop) -> None:
    api = shop.api
    api.create_or_replace_scenario(P2I, "kids", only(0))
    api.create_or_replace_scenario(P2I, "adults", only(1))
    minor = {"property_name": "age", "op": "lt", "value": 18}
    by_age = {"condition_type": "user_property", "if": minor, "then": "kids", "else": "adults"}
    api.create_or_replace_scenario(
        P2I, "by_age", {"scenario_type": "condition", "condition": by_age}
    )
    api.create_or_replace_scenario(
        P2I, "front", {"scenario_type": "alias", "alias": {"to": "by_age"}}
    )
    for u, user in enumerate(shop.users):
        answer = shop.for_user(user, scenario="front")
        expected = "kids" if u < USERS_PER_GROUP else "adults"
        assert [step["scenario_name"] for step in answer["evaluated_scenarios"]["runtime"]] == [
            "front",
            "by_age",
            expected,
        ]
        assert shop.groups(answer) == {0 if u < USERS_PER_GROUP else 1}
    rated = {"function_name": "n_ratings", "op": "gte", "value": RATED}
    by_count = {"condition_type": "user_function", "if": rated, "then": "adults", "else": "kids"}
    api.create_or_replace_scenario(
        P2I, "by_count", {"scenario_type": "condition", "condition": by_count}
    )
    assert shop.groups(shop.for_user(shop.users[0], scenario="by_count")) == {1}
    with pytest.raises(WrongData):
        api.delete_scenario(P2I, "by_age")


def test_item_condition(shop: Shop) -> None:
    api = shop.api
    for group in (0, 1):
        api.create_or_replace_scenario("item_to_items", f"items_{group}", only(group))
    first = {"property_name": "group", "op": "eq", "value": 0}
    across = {"condition_type": "item_property", "if": first, "then": "items_1", "else": "items_0"}
    api.create_or_replace_scenario(
        "item_to_items", "across", {"scenario_type": "condition", "condition": across}
    )
    for index, expected in ((0, 1), (ITEMS_PER_GROUP, 0)):
        answer = api.get_reco_item_to_items(shop.items[index], amt=5, scenario="across")
        assert shop.groups(answer) == {expected}
        assert answer["evaluated_scenarios"]["runtime"][-1]["scenario_name"] == f"items_{expected}"
