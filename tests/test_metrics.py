"""Who may read `GET /metrics`, and the setting that turns the metrics off."""

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from tenantry.app import create_app
from tenantry.config import Settings


def from_address(app: FastAPI, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://tenantry.test")


async def test_without_a_token_only_local_clients_read_them(app: FastAPI) -> None:
    async with from_address(app, "203.0.113.9") as remote:
        refused = await remote.get("/metrics")
    assert refused.status_code == 403
    assert refused.json()["code"] == "METRICS_LOCAL_ONLY"
    for host in ("127.0.0.1", "::1"):
        async with from_address(app, host) as local:
            scrape = await local.get("/metrics")
        assert scrape.status_code == 200, scrape.text
        names = {family.name for family in text_string_to_metric_families(scrape.text)}
        assert {"tenantry_requests", "tenantry_request_duration_seconds"} <= names


async def test_off_they_are_not_served(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics": False}))
    async with from_address(app, "127.0.0.1") as local:
        answer = await local.get("/metrics")
    assert answer.status_code == 404
    assert answer.json()["code"] == "METRICS_OFF"


def test_database_ids_are_read_comma_separated(settings: Settings) -> None:
    read = Settings(**{**settings.model_dump(), "metrics_databases": " a1, b2 ,,"})
    assert read.metrics_databases == ["a1", "b2"]
