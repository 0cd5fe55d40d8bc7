"""Checks of error answers: problem+json with every member the server promises, and none
of the server's insides."""

import re
from typing import Any

import httpx

from tenantry.errors import PROBLEM_JSON

# What would betray the server's insides: a Python traceback or PostgreSQL's words.
LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"/|sqlalchemy|asyncpg|psycopg"
    r"|\bSELECT\b.+\bFROM\b|\bINSERT INTO\b|\bUPDATE\b.+\bSET\b|syntax error at or near",
    re.IGNORECASE | re.DOTALL,
)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:tenantry:problem:{code.lower().replace('_', '-')}"
    assert body["title"]
    assert body["detail"]
    assert body["error_data"]["name"] == code
    assert isinstance(body["error_code"], int)
    assert body["error_name"]
    assert body["request_id"] == response.headers["x-request-id"]
    if code == "VALIDATION_ERROR":
        assert "errors" in body
    if status != 400:
        assert "errors" not in body
    return body
