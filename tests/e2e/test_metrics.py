"""`GET /metrics` of a real `tenantry serve`, read with the Prometheus client's own parser."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.utils.factories import ready_registration
from tests.utils.server import Server

pytestmark = pytest.mark.slow

TOKEN = "metrics-token-of-the-suite-0123456789"


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a scrape by name, as the library's parser reads it."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def total(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(
        value
        for sample_labels, value in found.get(name, [])
        if all(sample_labels.get(key) == wanted for key, wanted in labels.items())
    )


@pytest.fixture
def two_workers(server: Server) -> Server:
    server.env |= {
        "TENANTRY_WORKERS": "2",
        "TENANTRY_METRICS_TOKEN": TOKEN,
        "TENANTRY_WARM_POOL_SIZE": "0",  # every database made by a job, which is timed
    }
    server.start()
    return server


async def test_a_scrape_adds_up_every_worker(two_workers: Server) -> None:
    async with httpx.AsyncClient(base_url=two_workers.url, timeout=30) as client:
        org = await ready_registration(client)
        created = await client.post("/v1/spaces", json={"name": "watched"}, headers=org.key)
        assert created.status_code == 201, created.text
        path = f"/v1/spaces/{created.json()['space_id']}"
        for _ in range(20):  # a fresh connection each: spread over both workers
            async with httpx.AsyncClient(base_url=two_workers.url) as once:
                assert (await once.get(path, headers=org.key)).status_code == 200
        refused = await client.get(path, headers={"X-API-Key": "tk_notakey_" + "x" * 40})
        assert refused.status_code == 401

        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        scrapes = []
        for _ in range(4):  # whichever worker answers, it counts both
            async with httpx.AsyncClient(base_url=two_workers.url) as once:
                scrape = await once.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert scrape.status_code == 200, scrape.text
            assert scrape.headers["content-type"].startswith("text/plain")
            scrapes.append(samples(scrape.text))

    for found in scrapes:
        route = "/v1/spaces/{space_id}"
        gets = total(found, "tenantry_requests_total", method="GET", route=route, status="2xx")
        assert gets == 20
        assert total(found, "tenantry_requests_total", route=route, database="other") >= 20
        assert total(found, "tenantry_requests_total", route="/v1/spaces", method="POST") == 1
        latency = total(found, "tenantry_request_duration_seconds_count", route=route)
        assert latency == 21  # the refused one too
        assert total(found, "tenantry_auth_failures_total", code="INVALID_CREDENTIALS") >= 1
        assert total(found, "tenantry_auth_failures_total", code="METRICS_TOKEN_REQUIRED") >= 2
        assert total(found, "tenantry_job_duration_seconds_count", kind="provision") >= 1
        assert total(found, "tenantry_databases", status="ready") >= 1
        assert total(found, "tenantry_schemas_at_head", kind="database") >= 1
        assert total(found, "tenantry_schemas", kind="template") == 1
        assert total(found, "tenantry_pool_connections", pool="control") >= 2 * 5
        assert "tenantry_pool_connections_in_use" in found
        assert "tenantry_pool_waiting" in found
