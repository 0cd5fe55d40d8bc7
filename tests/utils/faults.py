"""Faults under load: the harness shared by `tests/reliability/test_faults.py` (a bounded
run) and the soak (`scripts/soak`, the long run); `Cluster` also serves `test_outage.py`.

A `tenantry serve` process runs on a PostgreSQL cluster of its own, in a temporary folder,
listening on a unix socket only. A load client on 127.0.0.1 creates spaces and documents in
two databases of two organizations, each with an `Idempotency-Key`, and retries each
write with the same key until it is acknowledged. Meanwhile faults are injected in turn:
`kill -9` of the server and a restart; a PostgreSQL restart (`fast` and `immediate`
shutdown, then a moment down); a kill of the process mid-provisioning (a failpoint), then
a restart. Afterwards every acknowledged write must be there exactly once, no database
may be left pending, and every 5xx must have been a 503 problem+json with `Retry-After`
while a fault was in progress.
"""

import asyncio
import contextlib
import itertools
import json
import random
import shutil
import signal
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tenantry.embedded import EmbeddedPostgres
from tests.utils.factories import PASSWORD
from tests.utils.server import Server, environment
from tests.utils.worker import OUTDATE_POOL

SECRET = "fault-test-secret-that-is-long-enough-0123456789"
FAULTS = ("server_kill", "postgres_fast", "worker_kill", "postgres_immediate")
GRACE = 1.0  # seconds after a fault ends during which its answers still count as its own
REQUEST_TIMEOUT = 15.0
WRITE_DEADLINE = 120.0  # a write not acknowledged by then is given up (and reported)
OUTAGE_SECONDS = 2.0  # how long PostgreSQL stays down


@dataclass
class Window:
    kind: str
    start: float
    end: float = float("inf")

    def covers(self, start: float, end: float) -> bool:
        return start <= self.end + GRACE and end >= self.start


@dataclass
class Write:
    database: int
    kind: str  # "spaces" or "documents"
    name: str
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    acknowledged: bool = False
    attempts: int = 0


@dataclass
class Report:
    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    fault_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    writes: list[Write] = field(default_factory=list)
    found: Counter[str] = field(default_factory=Counter)  # name -> copies found afterwards
    cross_tenant: int = 0
    outside_outages: int = 0  # 5xx or dropped connections with no fault in progress
    bad_answers: list[str] = field(default_factory=list)  # 500s, 503s without Retry-After…
    stuck_databases: int = 0
    recovered: bool = False
    server_errors: list[str] = field(default_factory=list)  # the server's log, for the cause
    seconds: float = 0.0

    @property
    def acknowledged(self) -> list[Write]:
        return [write for write in self.writes if write.acknowledged]

    @property
    def lost(self) -> int:
        return sum(1 for write in self.acknowledged if self.found[write.name] == 0)

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.found.values() if count > 1)

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.cross_tenant == 0
            and self.outside_outages == 0
            and not self.bad_answers
            and self.stuck_databases == 0
            and self.recovered
        )

    def failures(self) -> list[str]:
        checks = {
            "lost writes": self.lost,
            "duplicates": self.duplicates,
            "cross-tenant responses": self.cross_tenant,
            "5xx outside outages": self.outside_outages,
            "bad error answers": len(self.bad_answers),
            "databases stuck": self.stuck_databases,
            "not recovered": int(not self.recovered),
        }
        return [f"{name}: {count}" for name, count in checks.items() if count]


@dataclass
class Tenant:
    index: int
    key: str
    mark: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


class Cluster:
    """This run's own PostgreSQL: a cluster in a temporary folder, on a unix socket."""

    def __init__(self, folder: Path) -> None:
        self.postgres = EmbeddedPostgres(folder, database="tenantry")

    @property
    def url(self) -> str:
        return self.postgres.url()

    def start(self) -> None:
        self.postgres.start()

    def stop(self, mode: str) -> None:
        self.postgres._pg_ctl("stop", "-w", "-m", mode, "-t", "60")

    async def fetch(self, statement: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.url)
        try:
            return list(await connection.fetch(statement, *args))
        finally:
            await connection.close()


class Scenario:
    """One run: the cluster, the server, the load and the faults."""

    def __init__(
        self,
        folder: Path,
        *,
        seconds: float,
        clients: int = 4,
        seed: int = 0,
        max_writes: int = 1_000_000,
    ) -> None:
        self.folder = folder
        self.seconds = seconds
        self.max_writes = max_writes
        self.clients = clients
        self.random = random.Random(seed)
        self.cluster = Cluster(folder / "postgres")
        env = environment() | {
            "TENANTRY_DATABASE_URL": self.cluster.url,
            "TENANTRY_SECRET_KEY": SECRET,
            "TENANTRY_LOG_FORMAT": "json",
            "TENANTRY_LOG_LEVEL": "warning",
            "TENANTRY_RATE_LIMIT": "none",
            "TENANTRY_REGISTRATION_LIMIT": "none",
            "TENANTRY_WARM_POOL_SIZE": "1",
            "TENANTRY_LANES": "4",
        }
        self.server = Server(folder / "data", env)
        self.windows: list[Window] = []
        self.report = Report()
        self.tenants: list[Tenant] = []
        self.names = itertools.count()
        self.stopping = False

    # --- the parts ---------------------------------------------------------------------

    def start(self) -> None:
        self.cluster.start()
        self.server.start()

    def close(self) -> None:
        process = self.server.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        with contextlib.suppress(Exception):
            self.cluster.stop("immediate")

    def _in_fault(self, start: float, end: float) -> bool:
        return any(window.covers(start, end) for window in self.windows)

    # --- what every answer must be -------------------------------------------------------

    def judge(self, tenant: Tenant, start: float, response: httpx.Response) -> None:
        """Count an answer; note any that breaks the rules."""
        end = time.monotonic()
        self.report.requests += 1
        self.report.statuses[str(response.status_code)] += 1
        status = response.status_code
        where = f"{response.request.method} {response.request.url.path} -> {status}"
        if status >= 500:
            if not self._in_fault(start, end):
                self.report.outside_outages += 1
                self.report.bad_answers.append(f"{where} with no fault: {response.text[:300]}")
            elif not (
                status == 503
                and response.headers.get("content-type") == "application/problem+json"
                and response.headers.get("retry-after", "").isdigit()
                and response.json().get("status") == 503
            ):
                self.report.bad_answers.append(f"{where}: {response.text[:300]}")
            return
        if status >= 400 and status != 409:
            self.report.bad_answers.append(f"{where}: {response.text[:300]}")
            return
        text = response.text
        if any(other.mark in text for other in self.tenants if other is not tenant):
            self.report.cross_tenant += 1

    def dropped(self, start: float, error: Exception) -> None:
        """A request that got no answer: only while the server is down."""
        self.report.requests += 1
        self.report.statuses[type(error).__name__] += 1
        if not self._in_fault(start, time.monotonic()):
            self.report.outside_outages += 1
            self.report.bad_answers.append(f"no answer with no fault: {error!r}")

    # --- the load --------------------------------------------------------------------------

    async def _send(
        self, client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, **kw: Any
    ) -> httpx.Response | None:
        start = time.monotonic()
        headers = tenant.headers | kw.pop("headers", {})
        try:
            response = await client.request(method, path, headers=headers, **kw)
        except httpx.TransportError as error:
            self.dropped(start, error)
            return None
        self.judge(tenant, start, response)
        return response

    async def write(self, client: httpx.AsyncClient, write: Write) -> None:
        """Send `write` with its key until it is acknowledged (or given up)."""
        tenant = self.tenants[write.database]
        path = "/v1/spaces" if write.kind == "spaces" else "/v20241104/documents"
        body = {"name": write.name} if write.kind == "spaces" else {"title": write.name}
        deadline = time.monotonic() + WRITE_DEADLINE
        while time.monotonic() < deadline:
            write.attempts += 1
            response = await self._send(
                client, tenant, "POST", path, json=body, headers={"Idempotency-Key": write.key}
            )
            if response is not None and response.status_code in (200, 201):
                write.acknowledged = True
                return
            await asyncio.sleep(0.1 + 0.2 * self.random.random())

    async def client_loop(self, number: int) -> None:
        async with httpx.AsyncClient(base_url=self.server.url, timeout=REQUEST_TIMEOUT) as client:
            while not self.stopping and len(self.report.writes) < self.max_writes:
                tenant = self.tenants[self.random.randrange(len(self.tenants))]
                if self.random.random() < 0.25:
                    await self._send(client, tenant, "GET", "/v1/spaces", params={"limit": 20})
                    continue
                kind = self.random.choice(("spaces", "documents"))
                write = Write(tenant.index, kind, f"{tenant.mark}-{kind}-{next(self.names)}")
                self.report.writes.append(write)
                await self.write(client, write)

    # --- the faults ------------------------------------------------------------------------

    async def fault(self, kind: str) -> None:
        window = Window(kind, time.monotonic())
        self.windows.append(window)
        self.report.faults[kind] += 1
        try:
            await asyncio.to_thread(self._inject, kind)
        finally:
            window.end = time.monotonic()
            self.report.fault_seconds[kind] += window.end - window.start

    def _inject(self, kind: str) -> None:
        if kind == "server_kill":
            self.server.stop(signal.SIGKILL)
            self.server.start()
        elif kind.startswith("postgres_"):
            self.cluster.stop(kind.removeprefix("postgres_"))
            time.sleep(OUTAGE_SECONDS)
            self.cluster.start()
        elif kind == "worker_kill":
            self._kill_mid_provisioning()
        else:
            raise ValueError(kind)

    def _kill_mid_provisioning(self) -> None:
        """Restart the server with a failpoint in provisioning, register an organization
        (its database's provisioning kills the process), then restart it without."""
        self.server.stop(signal.SIGKILL)
        # No current pool schema for the registration to take at once: its database is
        # made by the job, which the failpoint stops.
        asyncio.run(self.cluster.fetch(OUTDATE_POOL))
        plain = self.server.env
        self.server.env = plain | {
            "TENANTRY_FAILPOINTS": "provision.schema_ready",
            "TENANTRY_WARM_POOL_SIZE": "0",
        }
        try:
            self.server.start()
            email = f"victim.{uuid.uuid4().hex[:8]}@example.com"
            with contextlib.suppress(httpx.TransportError):
                httpx.post(
                    f"{self.server.url}/v1/register/",
                    json={"email": email, "password": PASSWORD},
                    timeout=REQUEST_TIMEOUT,
                )
            assert self.server.process is not None
            code = self.server.process.wait(timeout=60)
            assert code == -signal.SIGKILL, f"the failpoint was not reached ({code})"
        finally:
            self.server.env = plain
        self.server.start()

    # --- the run -------------------------------------------------------------------------

    async def register(self, index: int) -> Tenant:
        async with httpx.AsyncClient(base_url=self.server.url, timeout=REQUEST_TIMEOUT) as client:
            email = f"load{index}.{uuid.uuid4().hex[:8]}@example.com"
            response = await client.post(
                "/v1/register/", json={"email": email, "password": PASSWORD}
            )
            assert response.status_code == 201, response.text
            tenant = Tenant(
                index, response.json()["api_key"], f"mark{index}x{uuid.uuid4().hex[:6]}"
            )
            await self._ready(client, tenant)
            return tenant

    async def _ready(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = await client.get("/v1/databases/current/status/", headers=tenant.headers)
            if response.json() == {"status": "ready"}:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("a database never became ready")

    async def run(self, on_fault: Callable[[str], None] = lambda kind: None) -> Report:
        started = time.monotonic()
        self.tenants = [await self.register(index) for index in range(2)]
        clients = [asyncio.create_task(self.client_loop(n)) for n in range(self.clients)]
        try:
            faults = itertools.cycle(FAULTS)
            await asyncio.sleep(2)
            while time.monotonic() - started < self.seconds or len(self.report.faults) < len(
                FAULTS
            ):
                kind = next(faults)
                on_fault(kind)
                await self.fault(kind)
                await asyncio.sleep(2 + 2 * self.random.random())  # load with no fault
        finally:
            self.stopping = True
            await asyncio.gather(*clients, return_exceptions=True)
        await self.verify()
        self.report.seconds = time.monotonic() - started
        return self.report

    async def verify(self) -> None:
        """Count what the server holds of the load's writes; wait for every database to be
        ready; check that the server answers as if nothing happened."""
        async with httpx.AsyncClient(base_url=self.server.url, timeout=REQUEST_TIMEOUT) as client:
            ready = await client.get("/readyz")
            fresh = await client.post(
                "/v1/spaces", headers=self.tenants[0].headers, json={"name": "after the faults"}
            )
            self.report.recovered = ready.status_code == 200 and fresh.status_code == 201
            for tenant in self.tenants:
                for name in await self._names(client, tenant):
                    if any(other.mark in name for other in self.tenants if other is not tenant):
                        self.report.cross_tenant += 1
                    self.report.found[name] += 1
        self.report.stuck_databases = await self._stuck_databases(within=60)
        self.report.server_errors = self.server_errors()

    def server_errors(self) -> list[str]:
        """The server's log lines at level error (an unexpected exception, with its
        traceback)."""
        lines = self.server.log.read_text(errors="replace").splitlines()
        return [line for line in lines if '"level": "error"' in line]

    async def _stuck_databases(self, within: float) -> int:
        """Databases not ready after `within` seconds (the worker finishes what a crash left
        pending)."""
        stuck = "SELECT count(*) FROM tenantry.databases WHERE status <> 'ready'"
        deadline = time.monotonic() + within
        while True:
            count = int((await self.cluster.fetch(stuck))[0][0])
            if count == 0 or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.2)

    async def _names(self, client: httpx.AsyncClient, tenant: Tenant) -> list[str]:
        names: list[str] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = (await client.get("/v1/spaces", headers=tenant.headers, params=params)).json()
            names += [space["name"] for space in page["data"]]
            if not page["meta"]["has_more"]:
                break
            params["cursor"] = page["meta"]["next_cursor"]
        number = 1
        while True:
            body = {"limit": 100, "page": number}
            response = await client.post(
                "/v20241104/documents/browse", headers=tenant.headers, json=body
            )
            page = response.json()
            names += [document["title"] for document in page["data"]]
            if not page["has_more"]:
                return names
            number = page["next_page"]


@contextlib.contextmanager
def scenario(
    seconds: float, *, clients: int = 4, seed: int = 0, max_writes: int = 1_000_000
) -> Iterator[Scenario]:
    """A scenario in a temporary folder of its own, cleaned up afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="tenantry-faults-"))
    run = Scenario(folder, seconds=seconds, clients=clients, seed=seed, max_writes=max_writes)
    try:
        run.start()
        yield run
    finally:
        run.close()
        shutil.rmtree(folder, ignore_errors=True)


def summary(report: Report) -> dict[str, Any]:
    """The report as plain data (for logs and assertion messages)."""
    return {
        "requests": report.requests,
        "statuses": dict(report.statuses),
        "faults": dict(report.faults),
        "fault_seconds": {kind: round(s, 1) for kind, s in report.fault_seconds.items()},
        "seconds": round(report.seconds, 1),
        "acknowledged": len(report.acknowledged),
        "given_up": len(report.writes) - len(report.acknowledged),
        "lost": report.lost,
        "duplicates": report.duplicates,
        "cross_tenant": report.cross_tenant,
        "outside_outages": report.outside_outages,
        "stuck_databases": report.stuck_databases,
        "recovered": report.recovered,
        "bad_answers": report.bad_answers[:20],
        "server_errors": report.server_errors[:5],
    }


def dumps(report: Report) -> str:
    return json.dumps(summary(report), indent=2)
