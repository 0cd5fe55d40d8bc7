"""The organization's metadata, through the client."""

from typing import Any

import pytest

from tests.utils.xminds import Org, root_client

pytestmark = pytest.mark.slow


def metadata_of(block: dict[str, Any]) -> Any:
    """The metadata in a preview's `metadata_old` / `metadata_new`: the client documents it
    as `{description, extra}`; the metadata itself is accepted too."""
    for key in ("metadata", "extra"):
        if key in block and isinstance(block[key], dict):
            return block[key]
    return block


class TestOrganization:
    def test_get(self, org: Org) -> None:
        answer = root_client(org).get_organization()
        assert isinstance(answer["metadata"], dict)

    def test_update_is_a_deep_merge(self, org: Org) -> None:
        root = root_client(org)
        root.create_or_partial_update_organization(
            {"brand": {"color": "red", "font": "serif"}, "tier": "gold"}
        )
        root.create_or_partial_update_organization({"brand": {"color": "blue", "font": None}})
        assert root.get_organization()["metadata"] == {"brand": {"color": "blue"}, "tier": "gold"}

    def test_preserve_appends_to_lists(self, org: Org) -> None:
        root = root_client(org)
        root.create_or_partial_update_organization({"tags": ["a"]})
        root.create_or_partial_update_organization({"tags": ["b"]}, preserve=True)
        assert root.get_organization()["metadata"]["tags"] == ["a", "b"]
        root.create_or_partial_update_organization({"tags": ["c"]})
        assert root.get_organization()["metadata"]["tags"] == ["c"]

    def test_preview_changes_nothing(self, org: Org) -> None:
        root = root_client(org)
        root.create_or_partial_update_organization({"a": 1})
        preview = root.partial_update_organization_preview({"b": 2})
        assert metadata_of(preview["metadata_old"]) == {"a": 1}
        assert metadata_of(preview["metadata_new"]) == {"a": 1, "b": 2}
        assert root.get_organization()["metadata"] == {"a": 1}
