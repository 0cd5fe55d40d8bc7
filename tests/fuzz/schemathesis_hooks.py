"""Checks of our own that schemathesis runs with its built-in ones (`SCHEMATHESIS_HOOKS`)."""

import json
from typing import Any

import schemathesis

from tenantry.errors import PROBLEM_JSON
from tests.utils.problems import LEAKS


@schemathesis.check
def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error is application/problem+json whose `status` is the HTTP status."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type == PROBLEM_JSON, f"error with Content-Type {content_type!r}"
    body = json.loads(response.content)
    assert isinstance(body, dict), "the problem is not an object"
    assert body.get("status") == response.status_code, (
        f"problem status {body.get('status')!r} != HTTP {response.status_code}"
    )
    for member in ("type", "title", "detail", "code", "request_id"):
        assert body.get(member), f"problem without {member!r}"
    return True


@schemathesis.check
def no_leaked_internals(ctx: Any, response: Any, case: Any) -> bool | None:
    """No stack trace or SQL in an error's body."""
    if response.status_code < 400:
        return None
    text = response.content.decode("utf-8", "replace")
    assert not LEAKS.search(text), f"the body shows the server's insides: {text[:500]}"
    return True
