"""Migrating N tenant schemas (add a column and an index) with `tenantry migrate`, and
django-tenants' `migrate_schemas` on the same tables, same migration, in the same run.

    python -m bench migrate [--sizes 1000,10000] [--peer-size 1000] [--concurrency 4]

Targets: 10,000 schemas <= 60 s; no-op run over 10,000 <= 5 s; >= 20x
django-tenants on the same schema count.
"""

import argparse
import asyncio
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bench._harness import (
    create_database,
    drop_database,
    print_table,
    server_url,
    write_results,
)
from tenantry.cli.common import with_engine
from tenantry.cli.migrate import migrate_everything
from tenantry.config import Settings
from tenantry.db import migrate
from tenantry.db.migrate import driver_connection, schema_upgrade_sql, upgrade_all

SECRET = "bench-secret-that-is-long-enough-0123456789abcdef"  # noqa: S105  (scratch)
REAL_TREES = migrate.MIGRATIONS_DIR
BENCH_REVISION = '''"""Benchmark only: a colour for spaces, and an index on it.

Revision ID: bench_color
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "bench_color"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("spaces", sa.Column("color", sa.String(32), nullable=True))
    op.create_index("ix_spaces_color", "spaces", ["color"])


def downgrade() -> None:
    op.drop_index("ix_spaces_color", "spaces")
    op.drop_column("spaces", "color")
'''


def use_trees(path: Path) -> None:
    migrate.MIGRATIONS_DIR = path
    for cached in (migrate._config, migrate._script, migrate.head, migrate.tenant_sql):
        cached.cache_clear()


def bench_trees(workdir: Path) -> Path:
    """A copy of the real trees, with one more tenant revision."""
    trees = workdir / "migrations"
    shutil.copytree(REAL_TREES, trees, ignore=shutil.ignore_patterns("__pycache__"))
    use_trees(REAL_TREES)
    down = migrate.head("tenant")
    (trees / "tenant" / "versions" / "bench_color.py").write_text(BENCH_REVISION.format(down=down))
    return trees


async def create_schemas(engine: AsyncEngine, count: int, concurrency: int) -> None:
    """`count` schemas at the real head, made as provisioning makes them."""
    queue = deque(f"bench_{index:06d}" for index in range(count))

    async def work() -> None:
        async with engine.connect() as connection:
            driver = await driver_connection(connection)
            while queue:
                name = queue.popleft()
                script = schema_upgrade_sql(name, None, kind="database", create=True)
                await driver.execute(f"BEGIN;\n{script}COMMIT;")

    await asyncio.gather(*(work() for _ in range(concurrency)))


async def count_migrated(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        driver = await driver_connection(connection)
        found: int = await driver.fetchval(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_spaces_color'"
        )
        return found


def run_tenantry(server: str, count: int, concurrency: int, trees: Path) -> dict[str, Any]:
    url = asyncio.run(create_database(server, "bench_migrate"))
    try:
        settings = Settings(database_url=url, secret_key=SECRET, migrate_concurrency=concurrency)  # type: ignore[call-arg]
        use_trees(REAL_TREES)
        started = time.perf_counter()

        async def setup(engine: AsyncEngine) -> None:
            await upgrade_all(engine)
            await create_schemas(engine, count, concurrency)

        with_engine(settings, setup, pool_size=concurrency + 1)
        setup_seconds = time.perf_counter() - started

        use_trees(trees)
        started = time.perf_counter()
        failed = migrate_everything(settings, quiet=True)
        seconds = time.perf_counter() - started
        migrated = with_engine(settings, count_migrated)
        assert failed == 0, f"{failed} schemas failed"
        assert migrated == count + 1, f"only {migrated} of {count} + template migrated"

        env = os.environ | {
            "BENCH_MIGRATIONS_DIR": str(trees),
            "TENANTRY_DATABASE_URL": url,
            "TENANTRY_SECRET_KEY": SECRET,
        }
        started = time.perf_counter()
        noop = subprocess.run(
            [sys.executable, "-m", "bench._tenantry_cli", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        noop_seconds = time.perf_counter() - started
        assert noop.returncode == 0, noop.stderr
        return {
            "schemas": count,
            "concurrency": concurrency,
            "seconds": round(seconds, 2),
            "per_schema_ms": round(seconds / count * 1000, 2),
            "noop_command_seconds": round(noop_seconds, 2),
            "setup_seconds": round(setup_seconds, 1),
        }
    finally:
        use_trees(REAL_TREES)
        asyncio.run(drop_database(server, url))


def run_django_tenants(server: str, count: int) -> dict[str, Any]:
    path = Path(__file__).parent / "peers" / "django_tenants" / "run.py"
    spec = importlib.util.spec_from_file_location("django_tenants_peer", path)
    assert spec is not None
    assert spec.loader is not None
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    url = server.partition("?")[0].rsplit("/", 1)[0] + "/bench_django_tenants"
    result: dict[str, Any] = peer.migrate_benchmark(url, count)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--peer-size", type=int, default=1000, help="0 skips django-tenants")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    server = server_url()
    sizes = [int(size) for size in args.sizes.split(",")]

    with tempfile.TemporaryDirectory() as workdir:
        trees = bench_trees(Path(workdir))
        tenantry = [run_tenantry(server, n, args.concurrency, trees) for n in sizes]
        peer_tenantry = next((r for r in tenantry if r["schemas"] == args.peer_size), None)
        if args.peer_size and peer_tenantry is None:
            peer_tenantry = run_tenantry(server, args.peer_size, args.concurrency, trees)
    peer = run_django_tenants(server, args.peer_size) if args.peer_size else None
    ratio = None
    if peer is not None and peer_tenantry is not None:
        ratio = round(peer["seconds"] / peer_tenantry["seconds"], 1)

    rows = [
        ["tenantry", r["schemas"], r["seconds"], r["per_schema_ms"], r["noop_command_seconds"]]
        for r in tenantry
    ]
    if peer is not None:
        rows.append(
            [
                "django-tenants",
                peer["schemas"],
                round(peer["seconds"], 2),
                peer["per_schema_ms"],
                "-",
            ]
        )
    print_table(
        "migrate N schemas: add a column and an index",
        ["server", "schemas", "seconds", "ms/schema", "no-op command s"],
        rows,
    )
    if ratio is not None:
        print(f"django-tenants / tenantry at {args.peer_size} schemas: {ratio}x (goal >= 20x)")
    path = write_results(
        "migrate",
        {
            "tenantry": tenantry,
            "django_tenants": peer,
            "ratio_vs_django_tenants": ratio,
            "targets": {
                "seconds_for_10000": 60,
                "noop_seconds_for_10000": 5,
                "ratio_vs_django_tenants": 20,
            },
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
