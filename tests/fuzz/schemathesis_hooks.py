"""Checks of our own that schemathesis runs with its built-in ones (`SCHEMATHESIS_HOOKS`)."""

import json
import re
from typing import Any

import schemathesis

PROBLEM_JSON = "application/problem+json"
# What would betray the server's insides: a Python traceback or PostgreSQL's words.
LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"/|sqlalchemy|asyncpg|psycopg"
    r"|\bSELECT\b.+\bFROM\b|\bINSERT INTO\b|\bUPDATE\b.+\bSET\b|syntax error at or near",
    re.IGNORECASE | re.DOTALL,
)


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
