"""Public identifiers."""

import re

from tenantry.ids import new_id


def test_ids_are_url_safe_and_never_read_as_an_option() -> None:
    ids = [new_id() for _ in range(10_000)]  # about 156 would start with "-" by chance
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", value) for value in ids)
    assert len(set(ids)) == len(ids)
