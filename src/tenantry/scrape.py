"""`GET /metrics`: what the processes counted and what the control plane holds, in the
Prometheus text format.

Counted by the processes (`tenantry.metrics`): requests, latency, refusals, job durations
and connections in use, each process's pools sampled every `SAMPLE_INTERVAL` seconds and
at each scrape. Read from the control plane at each scrape, so the same whichever process
answers: the provisioning queue, schemas at their migration head, databases by status.

Only a caller with `TENANTRY_METRICS_TOKEN` as a bearer token reads them, or, with no
token set, a client on this machine.
"""

import asyncio
import hmac
import ipaddress
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.db.engine import Lanes
from tenantry.db.migrate import head
from tenantry.errors import Forbidden, NotFound, Unauthorized
from tenantry.metrics import Metrics
from tenantry.routing import Router

SAMPLE_INTERVAL = 5.0
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
LIVE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db")

router = Router(tags=["operations"])


class MetricsTokenRequired(Unauthorized):
    code = "METRICS_TOKEN_REQUIRED"
    default_detail = "Send the metrics token: Authorization: Bearer <TENANTRY_METRICS_TOKEN>."

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


class MetricsLocalOnly(Forbidden):
    code = "METRICS_LOCAL_ONLY"
    default_detail = (
        "The metrics are served to clients on this machine only, unless "
        "TENANTRY_METRICS_TOKEN is set."
    )


class MetricsOff(NotFound):
    code = "METRICS_OFF"
    default_detail = "This server counts no metrics (TENANTRY_METRICS is off)."


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "The metrics."}},
)
async def get_metrics(request: Request) -> Response:
    """The server's metrics, in the Prometheus text format."""
    metrics: Metrics | None = request.app.state.metrics
    if metrics is None:
        raise MetricsOff
    _check_reader(request, request.app.state.settings)
    sample_pools(metrics, request.app.state.engine, request.app.state.lanes)
    registry = CollectorRegistry()
    if (directory := os.environ.get(MULTIPROCESS_DIR)) is not None:
        _forget_dead(Path(directory))
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(metrics.registry)
    registry.register(Snapshot(await _control_plane(request.app.state.engine)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _check_reader(request: Request, settings: Settings) -> None:
    if settings.metrics_token is None:
        if not _loopback(request.client.host if request.client else ""):
            raise MetricsLocalOnly
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        raise MetricsTokenRequired


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _forget_dead(directory: Path) -> None:
    """Drop the live gauges of worker processes that are gone (the library keeps their
    files until told)."""
    for path in directory.glob("gauge_live*.db"):
        if (match := LIVE_FILE.fullmatch(path.name)) is not None and not _alive(
            int(match.group(1))
        ):
            mark_process_dead(int(match.group(1)), str(directory))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sample_pools(metrics: Metrics, engine: AsyncEngine, lanes: Lanes) -> None:
    """This process's connections in use, per pool, now."""
    in_use = {
        "control": engine.pool.checkedout(),  # type: ignore[attr-defined]
        "lane_sessions": sum(lane.pool.checkedout() for lane in lanes.engines),  # type: ignore[attr-defined]
        "lane_readers": sum(reader.in_use for reader in lanes.readers),
    }
    size = {
        "control": engine.pool.size(),  # type: ignore[attr-defined]
        "lane_sessions": sum(lane.pool.size() for lane in lanes.engines),  # type: ignore[attr-defined]
        "lane_readers": sum(len(reader.idle) + reader.in_use for reader in lanes.readers),
    }
    metrics.pools(in_use, size, sum(reader.waiting for reader in lanes.readers))


async def sample_pools_every(metrics: Metrics, engine: AsyncEngine, lanes: Lanes) -> None:
    """Sample this process's pools until cancelled: each process writes its own."""
    while True:
        sample_pools(metrics, engine, lanes)
        await asyncio.sleep(SAMPLE_INTERVAL)


JOBS = """
    SELECT kind, count(*) AS queued, count(*) FILTER (WHERE run_after <= now()) AS due
    FROM tenantry.jobs GROUP BY kind
"""
SCHEMAS = """
    SELECT kind, count(*) AS total, count(*) FILTER (WHERE version = :head) AS at_head
    FROM tenantry.schemas GROUP BY kind
"""
DATABASES = "SELECT status, count(*) AS total FROM tenantry.databases GROUP BY status"


async def _control_plane(engine: AsyncEngine) -> list[Metric]:
    """What the control plane holds now: the job queue, migrations, databases."""
    queued = GaugeMetricFamily(
        "tenantry_jobs_queued", "Jobs waiting for the worker, by kind.", labels=["kind"]
    )
    due = GaugeMetricFamily(
        "tenantry_jobs_due", "Queued jobs whose time has come, by kind.", labels=["kind"]
    )
    schemas = GaugeMetricFamily("tenantry_schemas", "Data-plane schemas, by kind.", labels=["kind"])
    at_head = GaugeMetricFamily(
        "tenantry_schemas_at_head",
        "Data-plane schemas at the tenant migration head, by kind: the migrations' progress.",
        labels=["kind"],
    )
    databases = GaugeMetricFamily("tenantry_databases", "Databases, by status.", labels=["status"])
    async with engine.connect() as connection:
        for row in (await connection.execute(text(JOBS))).mappings():
            queued.add_metric([row["kind"]], row["queued"])
            due.add_metric([row["kind"]], row["due"])
        rows = await connection.execute(text(SCHEMAS), {"head": head("tenant")})
        for row in rows.mappings():
            schemas.add_metric([row["kind"]], row["total"])
            at_head.add_metric([row["kind"]], row["at_head"])
        for row in (await connection.execute(text(DATABASES))).mappings():
            databases.add_metric([row["status"]], row["total"])
    return [queued, due, schemas, at_head, databases]


class Snapshot(Collector):
    """Families read once for one scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)
