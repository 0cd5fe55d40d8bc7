"""The suite against the client: every public method of `CrossingMindsApiClient` has its
area, every one in scope (outside recommendations, background tasks and training) is
called by a test here, and docs/crossing-minds.md's table names each."""

import re
from pathlib import Path

import pytest

from tests.utils.xminds import AREAS, IN_SCOPE, OUT_OF_SCOPE, ROOT, client_methods

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
DOCS = ROOT / "docs" / "crossing-minds.md"


def test_every_method_has_an_area() -> None:
    classified = [method for methods in AREAS.values() for method in methods]
    assert len(classified) == len(set(classified))
    assert set(classified) == set(client_methods())
    assert len(client_methods()) == 107  # xminds 0.7.0
    assert len(IN_SCOPE) == 107 - sum(len(AREAS[area]) for area in OUT_OF_SCOPE) == 90


def test_every_method_in_scope_is_called() -> None:
    source = "\n".join(
        path.read_text()
        for path in sorted(HERE.glob("test_*.py"))
        if path.name != Path(__file__).name
    )
    uncalled = [m for m in IN_SCOPE if not re.search(rf"\.{m}\b", source)]
    assert not uncalled


def test_the_docs_table_names_every_method() -> None:
    table = DOCS.read_text()
    missing = [m for m in client_methods() if f"`{m}`" not in table]
    assert not missing
