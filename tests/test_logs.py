"""One structured line per request."""

import json
import logging

import httpx
import pytest

from tenantry.logs import JsonFormatter


async def test_one_line_per_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tenantry.request")
    response = await client.get("/nothing-here", headers={"x-request-id": "req-1"})
    records = [r for r in caplog.records if r.name == "tenantry.request"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["message"] == "request"
    assert line["method"] == "GET"
    assert line["path"] == "/nothing-here"
    assert line["status"] == response.status_code == 404
    assert line["request_id"] == "req-1"
    assert line["duration_ms"] >= 0
    assert "database_id" in line
