"""The hot path: get, list and create a space, served by Tenantry, by the floor (raw ASGI +
asyncpg, bench/peers/floor.py) and by Django + django-tenants + DRF, side by side on the
same rows of the same PostgreSQL, with 1 database and with 10,000.

    python -m bench hotpath [--rounds 3] [--duration 5] [--databases 10000]
        [--only get,list,create] [--servers tenantry,floor,django] (or bare too)

Each server is one process pinned to CPU 0; wrk (1 thread, 32 connections) is pinned to
CPU 1. Servers take turns, A B C A B C, after a warm-up each. Writes results/hotpath.json.
"""

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import httpx

from bench._harness import (
    RESULTS,
    console,
    create_database,
    drop_database,
    postgres_server,
    print_table,
    write_results,
)
from tenantry.auth import api_keys
from tenantry.db.migrate import RECYCLE_AFTER, schema_upgrade_sql
from tenantry.ids import new_id

HERE = Path(__file__).resolve().parent
LUA = HERE / "hotpath.lua"
DJANGO_PEER = HERE / "peers" / "django_tenants"
SECRET = "bench-secret-that-is-long-enough-0123456789abcdef"  # noqa: S105  (scratch)
SERVER_CPU, LOAD_CPU = "0", "1"
CONNECTIONS = 32
DJANGO_THREADS = 8
SPACES_PER_DATABASE = 40
PAGE = 20
FILL_CONNECTIONS = 4
SCHEMAS_PER_TRANSACTION = 20  # each new schema takes ~20 locks; stay under the lock table
SERVERS = ("tenantry", "bare", "floor", "django")
DEFAULT_SERVERS = ("tenantry", "floor", "django")
# `bare`: Tenantry without its metrics and audit trail, what they cost (`--servers
# tenantry,bare`).
BARE = {"TENANTRY_METRICS": "false", "TENANTRY_AUDIT": "false"}
OPERATIONS = ("get", "list", "create")
FIELDS = {
    "space_id",
    "name",
    "description",
    "metadata",
    "has_background",
    "created_at",
    "updated_at",
}
POSTGRES_LOGS = Path("/var/log/postgresql")
PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "sqlalchemy",
    "asyncpg",
    "pydantic",
    "orjson",
    "django",
    "django-tenants",
    "djangorestframework",
    "gunicorn",
    "psycopg",
)


# --- the data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    schema: str
    database_id: str
    key: api_keys.NewKey

    def space_id(self, number: int) -> str:
        """The id of the tenant's space `number` (1..40), as the fill's SQL makes it."""
        digest = hashlib.md5(f"{self.schema}-{number}".encode(), usedforsecurity=False)
        return str(uuid.UUID(digest.hexdigest()))


SPACES_SQL = (
    'INSERT INTO "{schema}".spaces (space_id, name, description, metadata, created_at, '
    "updated_at) SELECT md5('{schema}-' || g)::uuid, 'space ' || g, 'space ' || g || "
    "' of {schema}', jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'b')), "
    "now() - make_interval(secs => {count} + 1 - g), now() - make_interval(secs => {count} + 1 - g)"
    " FROM generate_series(1, {count}) AS g"
)
DATABASES_SQL = (
    "INSERT INTO tenantry.databases (id, org_id, name, description, schema_name, status, "
    "item_id_type, user_id_type, session_id_type, core_config, metadata) "
    "SELECT id, $1, schema, '', schema, 'ready', 'uuid', 'uuid', 'uuid', '{}', '{}' "
    "FROM unnest($2::text[], $3::text[]) AS t(id, schema)"
)
KEYS_SQL = (
    "INSERT INTO tenantry.api_keys (id, org_id, database_id, account_id, name, role, prefix, "
    "secret_hash) SELECT id, $1, database_id, NULL, 'hotpath', 'backend', prefix, secret_hash "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) "
    "AS t(id, database_id, prefix, secret_hash)"
)


async def fill(url: str, count: int) -> list[Tenant]:
    """`count` ready databases of one organization, each a schema made by
    schema_upgrade_sql with SPACES_PER_DATABASE spaces, and one backend API key each."""
    tenants = [Tenant(f"hp_{i:05d}", new_id(), api_keys.generate()) for i in range(count)]
    org_id = new_id()
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO tenantry.organizations (id, name) VALUES ($1, 'hotpath')", org_id
        )
    finally:
        await connection.close()
    batches = deque(
        tenants[start : start + SCHEMAS_PER_TRANSACTION]
        for start in range(0, count, SCHEMAS_PER_TRANSACTION)
    )

    async def work() -> None:
        connection = await asyncpg.connect(url)
        made = 0
        try:
            await connection.execute("SET synchronous_commit TO off")  # a scratch database
            while batches:
                if made >= RECYCLE_AFTER:  # a backend caches the catalog of each schema made
                    await connection.close()
                    connection = await asyncpg.connect(url)
                    await connection.execute("SET synchronous_commit TO off")
                    made = 0
                batch = batches.popleft()
                made += len(batch)
                script = "".join(
                    schema_upgrade_sql(t.schema, None, kind="database", create=True)
                    + SPACES_SQL.format(schema=t.schema, count=SPACES_PER_DATABASE)
                    + ";\n"
                    for t in batch
                )
                async with connection.transaction():
                    await connection.execute(script)
                    await connection.execute(
                        DATABASES_SQL,
                        org_id,
                        [t.database_id for t in batch],
                        [t.schema for t in batch],
                    )
                    await connection.execute(
                        KEYS_SQL,
                        org_id,
                        [new_id() for _ in batch],
                        [t.database_id for t in batch],
                        [t.key.prefix for t in batch],
                        [t.key.secret_hash for t in batch],
                    )
        finally:
            await connection.close()

    await asyncio.gather(*(work() for _ in range(FILL_CONNECTIONS)))
    return tenants


async def settle(url: str) -> None:
    """After the fill: its statistics, and its pages written out, before anything runs."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("ANALYZE tenantry.databases, tenantry.api_keys")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


def write_targets(tenants: list[Tenant], workdir: Path) -> dict[str, Path]:
    """wrk's targets (`key space-id` a line): all spaces of the first database, or one
    random space of every database; the floor's keys; the Django peer's tenants."""
    one, every = workdir / "targets-1.txt", workdir / "targets-all.txt"
    first = tenants[0]
    one.write_text(
        "".join(f"{first.key.key} {first.space_id(n)}\n" for n in range(1, SPACES_PER_DATABASE + 1))
    )
    every.write_text(
        "".join(
            f"{t.key.key} {t.space_id(random.randint(1, SPACES_PER_DATABASE))}\n"  # noqa: S311
            for t in tenants
        )
    )
    keys, clients = workdir / "floor-keys.json", workdir / "django-clients.txt"
    keys.write_text(json.dumps({t.key.key: t.schema for t in tenants}))
    clients.write_text("".join(f"{t.schema} {t.key.secret_hash}\n" for t in tenants))
    return {"1": one, "all": every, "keys": keys, "clients": clients}


def django_setup(url: str, clients: Path, workdir: Path) -> dict[str, Any]:
    """django-tenants' shared schema and one Client per database (hotpath_steps.py)."""
    result = workdir / "django-setup.json"
    log = RESULTS / "hotpath-django-setup.log"
    env = os.environ | {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "benchsite.hotpath_settings"}
    command = [sys.executable, "hotpath_steps.py", "setup", "--clients", str(clients)]
    with log.open("wb") as out:
        done = subprocess.run(
            [*command, "--result", str(result)],
            cwd=DJANGO_PEER,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise RuntimeError(f"the Django setup failed ({done.returncode}):\n{tail}")
    data: dict[str, Any] = json.loads(result.read_text())
    return data


# --- the servers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def proc_status_kb(pid: int, name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float | None:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * TICK_MS


class Server:
    """One server process on 127.0.0.1, pinned to SERVER_CPU, logging to results/.

    Every server started is kept in `Server.started`, which the run stops at its end."""

    started: ClassVar[list["Server"]] = []

    def __init__(
        self,
        name: str,
        command: Callable[[int], list[str]],
        env: dict[str, str],
        *,
        cwd: Path,
        ready_path: str,
        ready_status: int,
        stop_signal: int = signal.SIGTERM,
        memory_in_child: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stop_signal = stop_signal
        self.memory_in_child = memory_in_child
        self.details = details or {}
        self.log = RESULTS / f"hotpath-{name}.log"
        self.command = ["taskset", "-c", SERVER_CPU, *command(self.port)]
        self.process = subprocess.Popen(
            self.command,
            cwd=cwd,
            env=os.environ | env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        Server.started.append(self)
        self._wait(ready_path, ready_status)

    def _wait(self, path: str, status: int) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(self.url + path, timeout=5).status_code == status:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        self.stop()
        raise RuntimeError(f"{self.name} did not start (see {self.log}):\n{tail}")

    @property
    def memory_pid(self) -> int:
        """The process serving requests: the gunicorn worker, not its arbiter."""
        if self.memory_in_child:
            workers = children(self.process.pid)
            if workers:
                return workers[-1]
        return self.process.pid

    def reset_peak(self) -> bool:
        try:
            Path(f"/proc/{self.memory_pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def peak_rss_mb(self) -> float | None:
        kb = proc_status_kb(self.memory_pid, "VmHWM")
        return None if kb is None else round(kb / 1024, 1)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_tenantry(url: str, name: str = "tenantry", **settings: str) -> Server:
    env = settings | {
        "TENANTRY_DATABASE_URL": url.replace("postgresql://", "postgresql+asyncpg://", 1),
        "TENANTRY_SECRET_KEY": SECRET,
        "TENANTRY_LOG_LEVEL": "warning",
        "TENANTRY_WORKERS": "1",
        "TENANTRY_RATE_LIMIT": "none",  # one key at thousands of requests a second
    }
    return Server(
        name,
        lambda port: [sys.executable, "-m", "tenantry", "serve", "--port", str(port)],
        env,
        cwd=HERE.parent,
        ready_path="/readyz",
        ready_status=200,
        stop_signal=signal.SIGINT,
        details={
            "command": "python -m tenantry serve (TENANTRY_WORKERS=1)",
            **({"settings": settings} if settings else {}),
        },
    )


def start_floor(url: str, keys: Path) -> Server:
    options = ["--workers", "1", "--loop", "uvloop", "--http", "httptools"]
    options += ["--no-access-log", "--log-level", "warning"]
    return Server(
        "floor",
        lambda port: [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.peers.floor:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *options,
        ],
        {"FLOOR_DATABASE_URL": url, "FLOOR_KEYS": str(keys)},
        cwd=HERE.parent,
        ready_path="/v1/spaces",
        ready_status=401,
        details={"command": "uvicorn bench.peers.floor:app " + " ".join(options)},
    )


def start_django(url: str, worker_class: str) -> Server:
    options = ["--workers", "1", "--worker-class", worker_class, "--log-level", "warning"]
    if worker_class == "gthread":
        options += ["--threads", str(DJANGO_THREADS)]
    return Server(
        "django",
        lambda port: [
            sys.executable,
            "-m",
            "gunicorn",
            "benchsite.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            *options,
        ],
        {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "benchsite.hotpath_settings"},
        cwd=DJANGO_PEER,
        ready_path="/v1/spaces",
        ready_status=401,
        memory_in_child=True,
        details={
            "command": "gunicorn benchsite.wsgi:application " + " ".join(options),
            "worker_class": worker_class,
            "threads": DJANGO_THREADS if worker_class == "gthread" else 1,
        },
    )


# --- checks -------------------------------------------------------------------------------


def first_target(path: Path) -> tuple[str, str]:
    key, space = path.read_text().split("\n", 1)[0].split()
    return key, space


def random_target(path: Path) -> tuple[str, str]:
    key, space = random.choice(path.read_text().splitlines()).split()  # noqa: S311
    return key, space


def check_server(server: Server, targets: dict[str, Path]) -> dict[str, Any]:
    """One request of each workload, checked: the right status and the right fields, so
    that a server answering 401 or 404 quickly cannot win. Returns one sample body."""
    problems = []
    sample: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for scenario, target in (("1", first_target), ("all", random_target)):
            key, space_id = target(targets[scenario])
            headers = {"X-API-Key": key}
            got = client.get(f"/v1/spaces/{space_id}", headers=headers)
            body = got.json() if got.status_code == 200 else {}
            if got.status_code != 200 or body.get("space_id") != space_id or set(body) != FIELDS:
                problems.append(f"get ({scenario}): {got.status_code} {got.text[:300]}")
            sample = sample or body
            got = client.get(f"/v1/spaces?limit={PAGE}", headers=headers)
            body = got.json() if got.status_code == 200 else {}
            data, meta = body.get("data", []), body.get("meta") or {}
            if (
                got.status_code != 200
                or len(data) != PAGE
                or set(data[0]) != FIELDS
                or not any(meta.values())
            ):
                problems.append(f"list ({scenario}): {got.status_code} {got.text[:300]}")
            name = f"check {uuid.uuid4().hex[:8]}"
            got = client.post(
                "/v1/spaces",
                headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
                json={"name": name, "description": "a check", "metadata": {"check": True}},
            )
            body = got.json() if got.status_code == 201 else {}
            if got.status_code != 201 or body.get("name") != name or set(body) != FIELDS:
                problems.append(f"create ({scenario}): {got.status_code} {got.text[:300]}")
        got = client.get(f"/v1/spaces/{uuid.uuid4()}", headers={"X-API-Key": "tnt_" + "x" * 46})
        if got.status_code != 401:
            problems.append(f"an unknown key got {got.status_code}, not 401")
    if problems:
        raise RuntimeError(f"{server.name} answers wrongly:\n" + "\n".join(problems))
    return sample


def check(server: Server, targets: dict[str, Path]) -> dict[str, Any]:
    try:
        return check_server(server, targets)
    except (RuntimeError, httpx.HTTPError) as error:
        if server.name != "tenantry":
            raise
        print(f"tenantry check failed, retrying once: {error}", file=sys.stderr)
        time.sleep(2)
        return check_server(server, targets)


# --- load ---------------------------------------------------------------------------------


def ensure_tools() -> None:
    if shutil.which("taskset") is None:
        sys.exit("taskset is missing (util-linux)")
    if shutil.which("wrk") is not None:
        return
    if os.geteuid() != 0:
        sys.exit("wrk is missing: install it (as root: apt-get install -y wrk) and run again")
    print("installing wrk ...")
    apt = ["apt-get", "install", "-y", "wrk"]
    if subprocess.run(apt, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(apt, check=True)


def wrk(url: str, mode: str, targets: Path, seconds: int) -> dict[str, Any]:
    """One wrk run; its figures, latencies in ms."""
    command = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{CONNECTIONS}"]
    command += [f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", str(LUA), url]
    command += ["--", mode, str(targets), uuid.uuid4().hex]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("HOTPATH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    raw = json.loads(line.removeprefix("HOTPATH "))
    socket_errors = {k: raw[k] for k in ("connect", "read", "write", "timeout")}
    return {
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "requests": raw["requests"],
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": sum(socket_errors.values()) + raw["status"],
        "socket_errors": socket_errors,
        "non_2xx_3xx": raw["status"],
    }


@dataclass
class Slot:
    """One server under one workload: what wrk sends and what came back."""

    label: str
    server: Server
    mode: str
    rounds: list[dict[str, Any]] = field(default_factory=list)

    def median(self, figure: str) -> float:
        return round(statistics.median(r[figure] for r in self.rounds), 2)

    def summary(self) -> dict[str, Any]:
        cpu = [r["server_cpu_ms_per_request"] for r in self.rounds]
        cpu = [value for value in cpu if value is not None]
        return {
            "rps": self.median("rps"),
            "p50_ms": self.median("p50_ms"),
            "p99_ms": self.median("p99_ms"),
            "server_cpu_ms_per_request": round(statistics.median(cpu), 3) if cpu else None,
            "errors": sum(r["errors"] for r in self.rounds),
            "requests": sum(r["requests"] for r in self.rounds),
            "rounds": self.rounds,
        }


def prime_seconds(args: argparse.Namespace) -> int:
    """Gets before the first run over every database, so that each is in use (its key
    known, its tables in the connections' caches) before anything is measured: the
    targets in turn, 2 s per 1,000 databases unless --prime says otherwise (a server
    answering 500 requests a second while its caches are cold reaches each once)."""
    return round(args.prime if args.prime is not None else args.databases / 1000 * 2)


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def run_workload(
    operation: str,
    scenario: str,
    servers: dict[str, Server],
    targets: Path,
    args: argparse.Namespace,
    prime: int,
) -> dict[str, Any]:
    """Warm-up (after `prime` seconds of a sweep over every target), then the rounds."""
    slots = [Slot(name, server, operation) for name, server in servers.items()]
    if operation == "create" and "tenantry" in servers:
        slots.append(Slot("tenantry plain", servers["tenantry"], "plain"))
    reset = {name: server.reset_peak() for name, server in servers.items()}
    for slot in slots:
        if slot.mode != "plain":  # same server, same path, just warmed by `create`
            if prime:
                wrk(slot.server.url, "sweep", targets, prime)
            wrk(slot.server.url, slot.mode, targets, args.warmup)
    for number in range(args.rounds):
        turn = number % len(slots)  # each server first in turn: no place in a round favoured
        for slot in slots[turn:] + slots[:turn]:
            pid = slot.server.memory_pid
            before = cpu_ms(pid)
            result = wrk(slot.server.url, slot.mode, targets, args.duration)
            after = cpu_ms(pid)
            result["server_cpu_ms_per_request"] = (
                round((after - before) / result["requests"], 3)
                if before is not None and after is not None and result["requests"]
                else None
            )
            slot.rounds.append(result)
    figures = {slot.label: slot.summary() for slot in slots}
    for name, server in servers.items():
        figures[name]["peak_rss_mb"] = server.peak_rss_mb()
        figures[name]["peak_rss_since"] = "workload start" if reset[name] else "server start"
    ratios: dict[str, Any] = {}
    for peer in ("bare", "floor", "django"):
        if "tenantry" in figures and peer in figures:
            rounds = [
                ratio(t["rps"], p["rps"])
                for t, p in zip(figures["tenantry"]["rounds"], figures[peer]["rounds"], strict=True)
            ]
            ratios[f"tenantry/{peer} rps"] = {
                "rounds": rounds,
                "median": round(statistics.median(r for r in rounds if r is not None), 3),
            }
    return {"operation": operation, "databases": scenario, "servers": figures, "ratios": ratios}


# --- PostgreSQL backends' catalog cache ---------------------------------------------------

CONTEXT = re.compile(r"level: (\d+); (.*?): (\d+) total in \d+ blocks")
MORE = re.compile(r"level: (\d+); \d+ more child contexts containing (\d+) total")


def postgres_log(known: Path | None) -> Path | None:
    if known is not None:
        return known
    if configured := os.environ.get("BENCH_POSTGRES_LOG"):
        return Path(configured)
    logs = sorted(POSTGRES_LOGS.glob("postgresql*.log*"), key=lambda p: p.stat().st_mtime)
    return logs[-1] if logs else None


def cache_contexts(lines: list[str], pid: int) -> tuple[int, int, bool] | None:
    """(CacheMemoryContext's own total, with its children, whole dump seen) of `pid`."""
    tag = f"[{pid}]"
    own = subtree = level = None
    finished = False
    for line in lines:
        if tag not in line:
            continue
        if "Grand total:" in line:
            finished = True
            continue
        more = MORE.search(line)
        match = more or CONTEXT.search(line)
        if match is None:
            continue
        depth = int(match.group(1))
        total = int(match.group(2) if more else match.group(3))
        if not more and match.group(2) == "CacheMemoryContext":
            own, subtree, level = total, total, depth
        elif level is not None and subtree is not None:
            if depth > level:
                subtree += total
            else:
                level = None
    if own is None or subtree is None:
        return None
    return own, subtree, finished


def private_kb(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    values = dict(re.findall(r"^(Private_\w+):\s+(\d+) kB", text, re.MULTILINE))
    return int(values.get("Private_Clean", 0)) + int(values.get("Private_Dirty", 0))


async def catalog_cache(
    url: str, applications: list[str], known_log: Path | None
) -> dict[str, Any]:
    """Each backend of these applications: its CacheMemoryContext from the server log
    (pg_log_backend_memory_contexts), else its private memory from smaps_rollup."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT application_name, pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = ANY($1::text[])",
            applications,
        )
        log = postgres_log(known_log)
        offset = None
        if log is not None:
            try:
                offset = log.stat().st_size
                log.open("rb").close()
            except OSError:
                offset = None
        if offset is not None:
            for row in rows:
                await connection.fetchval("SELECT pg_log_backend_memory_contexts($1)", row["pid"])
    finally:
        await connection.close()
    found: dict[int, tuple[int, int, bool]] = {}
    deadline = time.monotonic() + 10
    while offset is not None and log is not None and time.monotonic() < deadline:
        with log.open("rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode(errors="replace").splitlines()
        for row in rows:
            if (contexts := cache_contexts(lines, row["pid"])) is not None:
                found[row["pid"]] = contexts
        if all(row["pid"] in found and found[row["pid"]][2] for row in rows):
            break
        await asyncio.sleep(0.25)
    result: dict[str, Any] = {
        "source": "server log" if found else "smaps_rollup",
        "log": str(log) if found else None,
    }
    for application in applications:
        backends = []
        for row in rows:
            if row["application_name"] != application:
                continue
            private = private_kb(row["pid"])
            backend: dict[str, Any] = {
                "pid": row["pid"],
                "private_mb": None if private is None else round(private / 1024, 2),
            }
            if row["pid"] in found:
                own, subtree, _ = found[row["pid"]]
                backend["cache_memory_context_mb"] = round(own / 2**20, 2)
                backend["cache_memory_with_children_mb"] = round(subtree / 2**20, 2)
            backends.append(backend)
        figure = "cache_memory_context_mb" if found else "private_mb"
        values = [b[figure] for b in backends if b.get(figure) is not None]
        result[application] = {
            "backends": backends,
            "figure": figure,
            "max_mb": max(values, default=None),
            "total_mb": round(sum(values), 2),
        }
    return result


# --- the run ------------------------------------------------------------------------------


def choose_django_worker(
    url: str, targets: Path, choice: str, seconds: int
) -> tuple[Server, dict[str, Any]]:
    """gunicorn's sync and gthread workers, on a short get run each; the faster stays."""
    if choice != "auto":
        return start_django(url, choice), {"chosen": choice, "trial": None}
    trial: dict[str, float] = {}
    server = None
    for worker_class in ("sync", "gthread"):
        if server is not None:
            server.stop()
        server = start_django(url, worker_class)
        wrk(server.url, "get", targets, 1)
        trial[worker_class] = wrk(server.url, "get", targets, seconds)["rps"]
    assert server is not None
    chosen = max(trial, key=trial.__getitem__)
    if server.details["worker_class"] != chosen:
        server.stop()
        server = start_django(url, chosen)
    return server, {"chosen": chosen, "trial_get_rps": trial, "trial_seconds": seconds}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    found["wrk"] = (done.stdout + done.stderr).split("\n", 1)[0].strip() or None
    return found


def print_results(workloads: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    console.width = max(console.width, 132)
    rows = []
    for workload in workloads:
        ratios = workload["ratios"]
        for label, figures in workload["servers"].items():
            rss = figures.get("peak_rss_mb")
            rows.append(
                [
                    workload["operation"],
                    workload["databases"],
                    label,
                    f"{figures['rps']:.0f}",
                    figures["p50_ms"],
                    figures["p99_ms"],
                    figures["server_cpu_ms_per_request"],
                    figures["errors"],
                    "" if rss is None else rss,
                    ratios.get("tenantry/floor rps", {}).get("median", "")
                    if label == "tenantry"
                    else "",
                    ratios.get("tenantry/django rps", {}).get("median", "")
                    if label == "tenantry"
                    else "",
                ]
            )
    print_table(
        f"Hot path: 1 process on CPU 0, wrk -t1 -c{CONNECTIONS} on CPU 1 (medians of rounds)",
        [
            "workload",
            "databases",
            "server",
            "req/s",
            "p50 ms",
            "p99 ms",
            "CPU ms/req",
            "errors",
            "peak RSS MB",
            "T/floor",
            "T/django",
        ],
        rows,
    )
    print_table("Summary", ["figure", "value"], [[k, v] for k, v in summary.items()])


def summarize(
    workloads: list[dict[str, Any]], cache: dict[str, Any] | None, databases: int
) -> dict[str, Any]:
    by = {(w["operation"], w["databases"]): w["servers"] for w in workloads}
    summary: dict[str, Any] = {}
    one, every = by.get(("get", 1), {}), by.get(("get", databases), {})
    if "tenantry" in one and "tenantry" in every:
        summary[f"tenantry get rps, {databases}/1 db"] = ratio(
            every["tenantry"]["rps"], one["tenantry"]["rps"]
        )
        summary[f"tenantry get p99, {databases}/1 db"] = ratio(
            every["tenantry"]["p99_ms"], one["tenantry"]["p99_ms"]
        )
    for workload in workloads:  # what the metrics and the audit trail cost
        if (bare := workload["ratios"].get("tenantry/bare rps")) is not None:
            where = f"{workload['operation']}, {workload['databases']} db"
            summary[f"tenantry/bare rps ({where})"] = bare["median"]
    for scenario in (1, databases):
        create = by.get(("create", scenario), {})
        if "tenantry" in create and "tenantry plain" in create:
            summary[f"tenantry create p50 idempotent/plain ({scenario} db)"] = ratio(
                create["tenantry"]["p50_ms"], create["tenantry plain"]["p50_ms"]
            )
    if cache is not None:
        for name in SERVERS:
            if name in cache and cache[name]["backends"]:
                figure = cache[name]["figure"].removesuffix("_mb").replace("_", " ")
                summary[f"{name} backends: {figure} max / total MB"] = (
                    f"{cache[name]['max_mb']} / {cache[name]['total_mb']}"
                    f" ({len(cache[name]['backends'])} backends)"
                )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4, help="seconds per round")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per server")
    parser.add_argument(
        "--prime",
        type=float,
        default=None,
        help="extra warm-up seconds per server before the first run over every database "
        "(default: 2 per 1,000 databases)",
    )
    parser.add_argument("--databases", type=int, default=10_000)
    parser.add_argument("--only", default=",".join(OPERATIONS))
    parser.add_argument("--servers", default=",".join(DEFAULT_SERVERS))
    parser.add_argument(
        "--django-worker",
        choices=("auto", "sync", "gthread"),
        default="auto",
        help="gunicorn worker class; auto tries both on a short get run",
    )
    args = parser.parse_args()
    operations = [o for o in args.only.split(",") if o]
    names = [s for s in args.servers.split(",") if s]
    if unknown := (set(operations) - set(OPERATIONS)) | (set(names) - set(SERVERS)):
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    if args.databases < 2 or args.rounds < 1:
        parser.error("--databases must be at least 2 and --rounds at least 1")
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    if load_at_start[0] > 1:
        print(f"warning: the machine is busy (load average {load_at_start[0]:.2f})")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop the servers
    ensure_tools()
    RESULTS.mkdir(exist_ok=True)
    with postgres_server("bench-hotpath") as (server, log):
        url = asyncio.run(create_database(server, "bench_hotpath"))
        running: dict[str, Server] = {}
        servers: dict[str, Server] = {}
        samples: dict[str, Any] = {}
        workloads: list[dict[str, Any]] = []
        cache = None
        setup: dict[str, Any] = {}
        try:
            with tempfile.TemporaryDirectory(prefix="bench-hotpath-") as tmp:
                workdir = Path(tmp)
                # Tenantry migrates the control plane and the template before anything else.
                tenantry = start_tenantry(url)
                if "tenantry" in names:
                    running["tenantry"] = tenantry
                else:
                    tenantry.stop()
                began = time.perf_counter()
                tenants = asyncio.run(fill(url, args.databases))
                asyncio.run(settle(url))
                setup["fill_seconds"] = round(time.perf_counter() - began, 1)
                print(f"filled {args.databases} databases in {setup['fill_seconds']} s")
                targets = write_targets(tenants, workdir)
                if "bare" in names:
                    running["bare"] = start_tenantry(url, "bare", **BARE)
                if "floor" in names:
                    running["floor"] = start_floor(url, targets["keys"])
                if "django" in names:
                    django = django_setup(url, targets["clients"], workdir)
                    setup["django_setup_seconds"] = round(django["seconds"], 1)
                    running["django"], setup["django_worker"] = choose_django_worker(
                        url, targets["1"], args.django_worker, min(3, args.duration)
                    )
                servers = {name: running[name] for name in SERVERS if name in running}
                samples = {name: check(s, targets) for name, s in servers.items()}
                print("every server answers every workload correctly")
                primed = False
                for operation in operations:
                    for scenario, count in (("1", 1), ("all", args.databases)):
                        print(f"{operation}, {count} database(s) ...", flush=True)
                        prime = 0
                        if scenario == "all" and not primed:  # every database in use first
                            prime = prime_seconds(args)
                            primed = True
                        workload = run_workload(
                            operation, scenario, servers, targets[scenario], args, prime
                        )
                        workload["databases"] = count
                        workloads.append(workload)
                        if operation == "get" and scenario == "all":
                            cache = asyncio.run(catalog_cache(url, list(servers), log))
        finally:
            for started_server in Server.started:
                try:
                    started_server.stop()
                except Exception as error:  # keep stopping the others
                    print(f"stopping {started_server.name}: {error}", file=sys.stderr)
            asyncio.run(drop_database(server, url))
        wall = round(time.perf_counter() - started, 1)
        summary = summarize(workloads, cache, args.databases)
        print_results(workloads, summary)
        path = write_results(
            "hotpath",
            {
                "config": {
                    "rounds": args.rounds,
                    "duration_seconds": args.duration,
                    "warmup_seconds": args.warmup,
                    "prime_seconds": prime_seconds(args),
                    "databases": args.databases,
                    "spaces_per_database": SPACES_PER_DATABASE,
                    "list_limit": PAGE,
                    "wrk": f"wrk -t1 -c{CONNECTIONS} --latency, pinned to CPU {LOAD_CPU}",
                    "servers_pinned_to_cpu": SERVER_CPU,
                    "operations": operations,
                    "order": "servers in turn within each round, the first moved to the end each "
                    "round: " + " ".join(servers),
                    "load_average_at_start": [round(x, 2) for x in load_at_start],
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                    "postgresql": "BENCH_DATABASE_URL's server"
                    if log is None
                    else "a cluster of the benchmark's own, in memory",
                },
                "servers": {name: s.details for name, s in servers.items()},
                "setup": setup
                | {
                    "fill_connections": FILL_CONNECTIONS,
                    "schemas_per_transaction": SCHEMAS_PER_TRANSACTION,
                },
                "sample_get_bodies": samples,
                "workloads": workloads,
                "summary": summary,
                "catalog_cache": cache,
                "versions": versions(),
                "wall_seconds": wall,
            },
            server=server,
        )
        print(f"wrote {path} in {wall} s")


if __name__ == "__main__":
    main()
