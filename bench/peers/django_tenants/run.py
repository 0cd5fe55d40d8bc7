"""django-tenants peer of bench/migrate.py: time `migrate_schemas --tenant` over N schemas.

    python bench/peers/django_tenants/run.py --database-url URL --schemas N

URL names a scratch database, e.g. postgresql://postgres@127.0.0.1:5432/bench_django_tenants
(or postgresql://postgres@/bench_django_tenants?host=/tmp/sock over a unix socket). That
database is DROPPED and created again on the same server (through its `postgres` database),
filled, migrated, checked and dropped at the end, so runs are independent of each other.

Only psycopg is imported here: Django runs in child processes (steps.py), so this module
can be imported by a benchmark that has nothing to do with Django, and called repeatedly
with different URLs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

HERE = Path(__file__).resolve().parent
MAINTENANCE_DATABASE = "postgres"
NEVER_DROPPED = frozenset({"postgres", "template0", "template1"})
LOG_LINES_ON_FAILURE = 40

# One query: for every tenant, does spaces have color varchar(32) NULL and an index on it?
VERIFY_QUERY = """
SELECT count(*),
       count(*) FILTER (WHERE has_column AND has_index),
       (array_agg(schema_name ORDER BY schema_name)
          FILTER (WHERE NOT (has_column AND has_index)))[1:5]
FROM (
    SELECT c.schema_name,
           EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = t.oid AND a.attname = 'color' AND NOT a.attisdropped
                     AND NOT a.attnotnull
                     AND format_type(a.atttypid, a.atttypmod) = 'character varying(32)')
             AS has_column,
           EXISTS (SELECT 1 FROM pg_index x
                   JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
                   WHERE x.indrelid = t.oid AND x.indnkeyatts = 1 AND a.attname = 'color')
             AS has_index
    FROM customers_client c
    LEFT JOIN pg_namespace n ON n.nspname = c.schema_name
    LEFT JOIN pg_class t ON t.relnamespace = n.oid AND t.relname = 'spaces'
    WHERE c.schema_name <> 'public'
) AS tenants
"""


def database_name(database_url: str) -> str:
    name = conninfo_to_dict(database_url).get("dbname")
    if not name:
        raise ValueError(f"the database URL names no database: {database_url!r}")
    if name in NEVER_DROPPED:
        raise ValueError(f"refusing to drop and recreate the database {name!r}: name a scratch one")
    return str(name)


def _maintenance(database_url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        make_conninfo(database_url, dbname=MAINTENANCE_DATABASE), autocommit=True
    )


def drop_database(database_url: str) -> None:
    name = sql.Identifier(database_name(database_url))
    with _maintenance(database_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def recreate_database(database_url: str) -> None:
    name = sql.Identifier(database_name(database_url))
    with _maintenance(database_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def run_step(database_url: str, step: str, *args: str, log_dir: Path) -> dict[str, Any]:
    """Run one step of steps.py in a child process; its output goes to log_dir/STEP.log."""
    log = log_dir / f"{step}.log"
    result = log_dir / f"{step}.json"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "benchsite.settings",
    }
    command = [sys.executable, str(HERE / "steps.py"), step, *args, "--result", str(result)]
    with log.open("w") as out:
        done = subprocess.run(command, cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text().splitlines()[-LOG_LINES_ON_FAILURE:]
        raise RuntimeError(
            f"django-tenants step {step!r} exited with {done.returncode}:\n" + "\n".join(tail)
        )
    data: dict[str, Any] = json.loads(result.read_text())
    return data


def verify(database_url: str, schemas: int) -> None:
    """Raise unless every one of the `schemas` tenants has spaces.color and its index."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(VERIFY_QUERY).fetchone()
    tenants, migrated, first_missing = row if row else (0, 0, None)
    if tenants != schemas or migrated != schemas:
        raise RuntimeError(
            f"expected {schemas} migrated tenant schemas, found {tenants} tenants of which"
            f" {migrated} have spaces.color and its index (missing: {first_missing})"
        )


def migrate_benchmark(
    database_url: str, schemas: int, *, keep_database: bool = False
) -> dict[str, Any]:
    """Time django-tenants' `migrate_schemas --tenant` applying catalog 0002 to N schemas.

    The database named in `database_url` is dropped and created anew; N tenants are made
    at catalog 0001 (one through django-tenants, the rest cloned from it with SQL), then
    only the `call_command("migrate_schemas", "--tenant")` is timed, in a fresh process.
    The database is dropped afterwards unless `keep_database`, or the run failed.
    """
    if schemas < 1:
        raise ValueError("schemas must be at least 1")
    recreate_database(database_url)
    with tempfile.TemporaryDirectory(prefix="bench-django-tenants-") as tmp:
        log_dir = Path(tmp)
        run_step(database_url, "setup", "--schemas", str(schemas), log_dir=log_dir)
        seconds = float(run_step(database_url, "migrate", log_dir=log_dir)["seconds"])
    verify(database_url, schemas)
    if not keep_database:
        drop_database(database_url)
    return {
        "peer": "django-tenants",
        "django": version("django"),
        "django_tenants": version("django-tenants"),
        "schemas": schemas,
        "seconds": round(seconds, 6),
        "per_schema_ms": round(seconds * 1000 / schemas, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="libpq URL of a scratch database, dropped and recreated (default: $DATABASE_URL)",
    )
    parser.add_argument("--schemas", type=int, required=True, help="tenant schemas to migrate")
    parser.add_argument(
        "--keep-database", action="store_true", help="leave the database in place afterwards"
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    result = migrate_benchmark(args.database_url, args.schemas, keep_database=args.keep_database)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
