"""xminds 0.6, which calls the items and users of 0.6's paths (`items/{id}/`, `items-bulk/`,
`items-bulk/list/`, and the same for users), in a process of its own, for each id type."""

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.utils.factories import PASSWORD
from tests.utils.xminds import (
    ID_KINDS,
    IdKind,
    Org,
    Outcome,
    call,
    database_client,
    declare_properties,
    properties,
    root_client,
    rows,
    run_xminds_06,
)

pytestmark = pytest.mark.slow


def values(outcomes: list[Outcome]) -> list[Any]:
    """Every outcome's value, once each is known to be one."""
    failed = [(n, o) for n, o in enumerate(outcomes) if not o.ok]
    assert not failed, failed
    return [o.value for o in outcomes]


class TestXminds06:
    def test_items(self, org: Org, kind: IdKind, xminds_06: Path) -> None:
        api = database_client(org, kind, kind, kind)
        declare_properties(api)
        a, b, c, missing = kind.ids(4)
        login = call("login_individual", org.email, PASSWORD, db_id=api._database["id"])
        outcomes = run_xminds_06(
            xminds_06,
            org.url,
            [
                login,
                call("create_or_update_item", {"item_id": a, "title": "A", "tags": ["x", "y"]}),
                call("get_item", a),
                call(
                    "create_or_update_items_bulk",
                    [{"item_id": b, "title": "B"}, {"item_id": c, "title": "C", "price": 3.0}],
                ),
                call("list_items", [a, b, missing]),
                call("list_items_paginated", amt=2),
                call("partial_update_item", {"item_id": a, "price": 2.5}),
                call("partial_update_items_bulk", [{"item_id": b, "price": 4.0}]),
                call("get_item", a),
                call("delete_item_props", c),
                call("delete_items", [b]),
                call("list_items_paginated"),
            ],
        )
        _, _, got, _, listed, page, patched, _, got_again, _, _, final = values(outcomes)
        assert got["item"]["item_id"] == kind.returned(a)
        assert properties(got["item"], "item_id") == {"title": "A", "tags": ["x", "y"]}
        assert rows(listed, "items") == {
            kind.returned(a): {"title": "A", "tags": ["x", "y"]},
            kind.returned(b): {"title": "B"},
        }
        assert len(page["items"]) == 2
        assert page["has_next"] is True
        assert patched["item_modified"] is True
        assert properties(got_again["item"], "item_id") == {
            "title": "A",
            "price": 2.5,
            "tags": ["x", "y"],
        }
        assert set(rows(final, "items")) == {kind.returned(a)}

    def test_users(self, org: Org, kind: IdKind, xminds_06: Path) -> None:
        """On integer item ids: 0.6's `list_users` has 0.7's decoding bug."""
        api = database_client(org, ID_KINDS["uint32"], kind, kind)
        declare_properties(api)
        a, b, c, missing = kind.ids(4)
        api.create_or_replace_item({"item_id": 1, "title": "Dune"})
        outcomes = run_xminds_06(
            xminds_06,
            org.url,
            [
                call("login_individual", org.email, PASSWORD, db_id=api._database["id"]),
                call("create_or_update_user", {"user_id": a, "name": "A", "age": 20}),
                call("get_user", a),
                call("create_or_update_users_bulk", [{"user_id": b}, {"user_id": c, "age": 3}]),
                call("list_users", [a, c, missing]),
                call("list_users_paginated", amt=2),
                call("partial_update_user", {"user_id": a, "age": 21}),
                call("partial_update_users_bulk", [{"user_id": b, "name": "B"}]),
                call("create_or_update_rating", a, 1, 8.0),
                call("delete_user_props", a),
                call("delete_user_all", c),
                call("delete_users", [b]),
                call("list_users_paginated"),
                call("list_user_ratings", a),
            ],
        )
        (_, _, got, _, listed, page, patched, _, _, _, _, _, final, ratings) = values(outcomes)
        assert got["user"]["user_id"] == kind.returned(a)
        assert properties(got["user"], "user_id") == {"name": "A", "age": 20}
        # 0.6's `list_users` decodes its rows with the item-id decoder (a no-op on these
        # integer item ids): user ids come back as they travel, bytes in base64url.
        assert rows(listed, "users") == {
            kind.wire(a): {"name": "A", "age": 20},
            kind.wire(c): {"age": 3},
        }
        assert len(page["users"]) == 2
        assert patched["user_modified"] is True
        assert final["users"] == []
        assert [r["item_id"] for r in ratings["user_ratings"]] == [1]

    def test_property_schemas_hold_on_the_0_6_paths(
        self, org: Org, kind: IdKind, xminds_06: Path
    ) -> None:
        api = database_client(org, kind, kind, kind)
        declare_properties(api)
        a, b = kind.ids(2)
        outcomes = run_xminds_06(
            xminds_06,
            org.url,
            [
                call("login_individual", org.email, PASSWORD, db_id=api._database["id"]),
                call("create_or_update_item", {"item_id": a, "color": "red"}),
                call("create_or_update_items_bulk", [{"item_id": a}, {"item_id": b, "price": "1"}]),
                call("partial_update_user", {"user_id": a, "age": -1}, create_if_missing=True),
                call("list_items_paginated"),
                call("list_users_paginated"),
            ],
        )
        _, undeclared, ill_typed, ill_typed_user, items, users = outcomes
        for refused, field in (
            (undeclared, "color"),
            (ill_typed, "price"),
            (ill_typed_user, "age"),
        ):
            assert refused.error == "WrongData", refused
            assert field in str(refused.data)
        assert items.value["items"] == []
        assert users.value["users"] == []

    def test_partial_update_service_account(self, org: Org, xminds_06: Path) -> None:
        """0.6's `PATCH accounts/service/` `{name, password}`: a new password."""
        name = f"svc-{uuid.uuid4().hex[:8]}"
        root_client(org).create_service_account(name, password=PASSWORD, role="backend")
        outcomes = run_xminds_06(
            xminds_06,
            org.url,
            [
                call("login_individual", org.email, PASSWORD),
                call("partial_update_service_account", name, "a new service password"),
                call("login_service", name, "a new service password"),
                call("login_service", name, PASSWORD),
            ],
        )
        *_, new, old = outcomes
        assert new.ok, new
        assert new.value["role"] == "backend"
        assert old.error == "AuthError", old
