"""The admin's home page, a dashboard: the logged-in database at a glance (its counters,
storage, requests and errors per day and per API key over the last 30 days, latency
percentiles, its jobs and training runs, its migration), and for root and managers the
same across the organization's databases. Charts are SVG drawn here, no script."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqladmin import ModelView
from sqlalchemy import text
from starlette.requests import Request

from tenantry.admin.binding import BoundSessions
from tenantry.admin.sessions import AdminIdentity, current_admin
from tenantry.control.databases.repository import count_rows
from tenantry.db.schema_names import quote
from tenantry.db.sessions import ControlSession, TenantSession, detached_session
from tenantry.traffic import LATENCY_BOUNDS_MS, percentile

DAYS = 30
CHART_WIDTH, CHART_HEIGHT = 600, 120

DATABASES = text("""
    SELECT d.id, d.name, d.status, d.schema_name, s.version, s.updated_at
    FROM tenantry.databases d LEFT JOIN tenantry.schemas s ON s.name = d.schema_name
    WHERE d.id = ANY(:ids) OR d.org_id = CAST(:org_id AS text)
    ORDER BY d.name, d.id
""")
TRAFFIC = text("""
    SELECT t.day, t.database_id, t.api_key_id, t.requests, t.client_errors, t.server_errors,
           t.latency
    FROM tenantry.request_traffic t
    WHERE t.database_id = ANY(:ids) AND t.day > :since
""")
KEYS = text("SELECT id, name, prefix FROM tenantry.api_keys WHERE id = ANY(:ids)")
STORAGE = text("""
    SELECT n.nspname AS schema, coalesce(sum(pg_total_relation_size(c.oid)), 0) AS bytes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY(:schemas) AND c.relkind IN ('r', 'm')
    GROUP BY n.nspname
""")
JOBS = text("""
    SELECT kind, attempts, last_error, run_after, created_at FROM tenantry.jobs
    WHERE database_id = :id ORDER BY created_at DESC LIMIT 5
""")
TRAINING = "SELECT name, status, progress, start_time, end_time FROM {schema}.reco_tasks "
TRAINING += "ORDER BY start_time DESC LIMIT 5"


@dataclass
class Usage:
    """Requests over the last `DAYS` days, per day, of one database, key or organization."""

    days: list[date]
    requests: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)  # client and server errors
    server_errors: list[int] = field(default_factory=list)
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))

    def __post_init__(self) -> None:
        self.requests = self.requests or [0] * len(self.days)
        self.errors = self.errors or [0] * len(self.days)
        self.server_errors = self.server_errors or [0] * len(self.days)

    def add(self, row: Any) -> None:
        at = self.days.index(row.day)
        self.requests[at] += row.requests
        self.errors[at] += row.client_errors + row.server_errors
        self.server_errors[at] += row.server_errors
        self.latency = [a + b for a, b in zip(self.latency, row.latency, strict=True)]

    @property
    def total(self) -> int:
        return sum(self.requests)

    @property
    def total_errors(self) -> int:
        return sum(self.errors)

    @property
    def percentiles(self) -> dict[str, str]:
        """p50, p95, p99 as "≤ N ms" (the bucket's bound), or "—" when nothing was counted."""
        shown = {}
        for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
            bound = percentile(self.latency, share)
            if bound is None:
                shown[name] = "—" if not any(self.latency) else f"> {LATENCY_BOUNDS_MS[-1]} ms"
            else:
                shown[name] = f"≤ {bound} ms"
        return shown

    def chart(self) -> str:
        """Bars per day: requests (blue), errors over them (red); an SVG element."""
        return bars(self.days, self.requests, self.errors)


def bars(days: list[date], requests: list[int], errors: list[int]) -> str:
    top = max([*requests, 1])
    step = CHART_WIDTH / len(days)
    parts = [
        f'<svg class="traffic-chart" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT + 16}" '
        f'width="100%" role="img" aria-label="requests and errors per day">'
    ]
    for at, (day, count, wrong) in enumerate(zip(days, requests, errors, strict=True)):
        x = at * step + 1
        for value, colour in ((count, "#206bc4"), (wrong, "#d63939")):
            height = CHART_HEIGHT * value / top
            parts.append(
                f'<rect x="{x:.1f}" y="{CHART_HEIGHT - height:.1f}" width="{step - 2:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{day.isoformat()}: '
                f"{count:,} requests, {wrong:,} errors</title></rect>"
            )
    for at in (0, len(days) - 1):
        anchor = "start" if at == 0 else "end"
        x = 0 if at == 0 else CHART_WIDTH
        parts.append(
            f'<text x="{x}" y="{CHART_HEIGHT + 13}" font-size="11" fill="#667382" '
            f'text-anchor="{anchor}">{days[at].strftime("%d %b")}</text>'
        )
    parts.append(
        f'<text x="2" y="11" font-size="11" fill="#667382">{top:,} a day at most</text></svg>'
    )
    return "".join(parts)


async def context(
    request: Request, sessions: BoundSessions, views: Sequence[ModelView]
) -> dict[str, Any]:
    """The page's figures: the database, its counters, its traffic, storage, jobs and
    migration; the organization's databases for root and managers; and the tables the
    account may open."""
    admin = current_admin()
    assert admin is not None  # the page is behind the login
    async with sessions() as session:
        tenant = TenantSession(session)
        counters = await count_rows(tenant)
        training = (
            await tenant.execute(text(TRAINING.format(schema=quote(admin.database.schema_name))))
        ).all()
    engine = request.app.state.tenantry.state.engine
    async with detached_session(engine) as control:
        page = await _control_figures(control, admin)
    tables = [view for view in views if view.is_accessible(request) and view.is_visible(request)]
    return page | {
        "database": admin.database,
        "counters": counters,
        "training": [_training_row(row) for row in training],
        "tables": tables,
        "bounds": LATENCY_BOUNDS_MS,
    }


async def _control_figures(control: ControlSession, admin: AdminIdentity) -> dict[str, Any]:
    manages = admin.manages
    found = (
        await control.execute(
            DATABASES, {"ids": [admin.database.id], "org_id": admin.org_id if manages else None}
        )
    ).all()
    ids = [row.id for row in found]
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=back) for back in range(DAYS - 1, -1, -1)]
    traffic = (await control.execute(TRAFFIC, {"ids": ids, "since": days[0] - timedelta(1)})).all()
    storage: dict[str, int] = dict(
        (await control.execute(STORAGE, {"schemas": [row.schema_name for row in found]})).all()
    )
    per_database = {row.id: Usage(days) for row in found}
    per_key: dict[str, Usage] = {}
    organization = Usage(days)
    for row in traffic:
        if row.day not in days:
            continue
        per_database[row.database_id].add(row)
        organization.add(row)
        if row.database_id == admin.database.id:
            per_key.setdefault(row.api_key_id, Usage(days)).add(row)
    keys = await control.execute(KEYS, {"ids": [key for key in per_key if key]})
    names = {row.id: f"{row.name or 'unnamed'} ({row.prefix}…)" for row in keys}
    jobs = (await control.execute(JOBS, {"id": admin.database.id})).all()
    this = next(row for row in found if row.id == admin.database.id)
    return {
        "usage": per_database[admin.database.id],
        "storage": megabytes(storage.get(this.schema_name, 0)),
        "migration": {"version": this.version, "at": this.updated_at},
        "keys": sorted(
            (
                (names.get(key, "access tokens" if not key else f"a deleted key ({key})"), usage)
                for key, usage in per_key.items()
            ),
            key=lambda pair: -pair[1].total,
        ),
        "jobs": jobs,
        "organization": organization if manages else None,
        "databases": [
            (row, per_database[row.id], megabytes(storage.get(row.schema_name, 0))) for row in found
        ]
        if manages
        else [],
        "days": DAYS,
    }


def _training_row(row: Any) -> dict[str, Any]:
    started = datetime.fromtimestamp(row.start_time, UTC)
    ended = None if row.end_time is None else datetime.fromtimestamp(row.end_time, UTC)
    return {"name": row.name, "status": row.status, "started": started, "ended": ended}


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"
