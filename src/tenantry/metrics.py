"""What the process counts for `GET /metrics`, in the Prometheus client library's types.

A request costs one counter increment and one histogram observation, on children looked
up by a tuple of labels already bounded: the route's template (as declared, never the
path sent), the status class, and the database, named only when it is one of
`TENANTRY_METRICS_DATABASES` ("other" otherwise, "none" with no database). So the number
of series is fixed by the routes and that setting, never by the callers.

With several worker processes, `tenantry serve` sets `PROMETHEUS_MULTIPROC_DIR` and every
process writes its values to files there, which the scrape adds up (the library's
multiprocess mode); one process keeps them in its memory.
"""

from collections.abc import Collection
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

STATUS_CLASSES = ("0xx", "1xx", "2xx", "3xx", "4xx", "5xx")
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
UNMATCHED = "unmatched"  # no route: a 404, or a method no route serves
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
JOB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
POOLS = ("control", "lane_sessions", "lane_readers")


class Metrics:
    def __init__(self, *, databases: Collection[str] = ()) -> None:
        self.databases = frozenset(databases)
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "tenantry_requests",
            "Requests answered, by route template, status class and database.",
            ["method", "route", "status", "database"],
            registry=registry,
        )
        self.latency = Histogram(
            "tenantry_request_duration_seconds",
            "Time from a request's arrival to its answer, by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.auth_failures = Counter(
            "tenantry_auth_failures",
            "Requests refused for their credentials (401), by problem code.",
            ["code"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "tenantry_rate_limit_refusals",
            "Requests refused by a rate limit (429), by problem code.",
            ["code"],
            registry=registry,
        )
        self.jobs = Histogram(
            "tenantry_job_duration_seconds",
            "Durable jobs run by the worker (provisioning, dropping, training), by outcome.",
            ["kind", "outcome"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.pool_in_use = Gauge(
            "tenantry_pool_connections_in_use",
            "Connections lent out now: the control plane's pool, the lanes' session pools, "
            "the lanes' hot-path readers.",
            ["pool"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.pool_size = Gauge(
            "tenantry_pool_connections",
            "Connections each pool keeps (its size, overflow not counted).",
            ["pool"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.pool_waiting = Gauge(
            "tenantry_pool_waiting",
            "Requests waiting for a hot-path reader of their lane.",
            ["pool"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self._children: dict[tuple[str, str, int, str], tuple[Any, Any]] = {}

    def database_label(self, database_id: str | None) -> str:
        if database_id is None:
            return "none"
        return database_id if database_id in self.databases else "other"

    def request(
        self, method: str, route: str | None, status: int, database_id: str | None, seconds: float
    ) -> None:
        """Count one answered request."""
        database = "none" if database_id is None else self.database_label(database_id)
        key = (method, route or UNMATCHED, status, database)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = self._labelled(*key)
        children[0].inc()
        children[1].observe(seconds)

    def _labelled(self, method: str, route: str, status: int, database: str) -> tuple[Any, Any]:
        """The children of one key: bounded labels only (a method no route serves, a
        status out of range and an unmatched path each share one label)."""
        if method not in METHODS:
            method = "other"
        status_class = STATUS_CLASSES[status // 100] if 0 <= status < 600 else "other"
        return (
            self.requests.labels(method, route, status_class, database),
            self.latency.labels(method, route),
        )

    def refused(self, status: int, code: str) -> None:
        """Count a refusal for credentials (401) or a rate limit (429)."""
        if status == 401:
            self.auth_failures.labels(code).inc()
        elif status == 429:
            self.rate_limited.labels(code).inc()

    def job(self, kind: str, outcome: str, seconds: float) -> None:
        self.jobs.labels(kind, outcome).observe(seconds)

    def pools(self, in_use: dict[str, int], size: dict[str, int], waiting: int) -> None:
        """This process's connections now, per pool."""
        for pool in POOLS:
            self.pool_in_use.labels(pool).set(in_use.get(pool, 0))
            self.pool_size.labels(pool).set(size.get(pool, 0))
        self.pool_waiting.labels("lane_readers").set(waiting)
