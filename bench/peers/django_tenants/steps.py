"""The Django side of the benchmark, one step per process; run.py starts these.

    python steps.py setup --schemas N --result FILE   # shared schema + N tenants at catalog 0001
    python steps.py migrate --result FILE             # the timed `migrate_schemas --tenant`

DATABASE_URL names the (existing, empty) database. Each step writes its result as JSON to
FILE, so that Django's own output can go anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")

import django

django.setup()

import psycopg  # noqa: E402
from customers.models import Client, Domain  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django_tenants.utils import quote_schema_name  # noqa: E402
from psycopg import sql  # noqa: E402

TENANT_APP = "catalog"
START_MIGRATION = "0001_initial"
PENDING = [("catalog", "0002_space_color")]  # what the timed run must apply, and only that
CLONES_PER_TRANSACTION = 50  # each new schema takes ~20 locks; stay under the lock table
CLONE_CONNECTIONS = 4  # creating relations is mostly file system work: overlap it a little


def schema_name(number: int) -> str:
    return f"tenant_{number:05d}"


def pending_migrations(schema: str) -> list[tuple[str, str]]:
    """The migrations `migrate_schemas --tenant` would apply to this schema."""
    connection.set_schema(schema)
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return [(migration.app_label, migration.name) for migration, _backwards in plan]
    finally:
        connection.set_schema_to_public()


def create_template_tenant(schema: str) -> None:
    """One tenant made through django-tenants, but migrated only to catalog 0001.

    `Client.save()` would create the schema and migrate it to the latest migration, so the
    schema is created here and migrated app by app: every app to its latest migration, as a
    real tenant created before 0002 existed would be, except catalog, which stops at 0001.
    """
    tenant = Client(schema_name=schema, name=schema)
    tenant.auto_create_schema = False
    tenant.save()
    Domain.objects.create(domain=f"{schema}.localhost", tenant=tenant, is_primary=True)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote_schema_name(schema)}")
    common: dict[str, Any] = {"schema_name": schema, "interactive": False, "verbosity": 0}
    call_command("migrate_schemas", TENANT_APP, START_MIGRATION, **common)
    executor = MigrationExecutor(connection)
    for app_label in sorted(executor.loader.migrated_apps - {TENANT_APP}):
        call_command("migrate_schemas", app_label, **common)
    if (pending := pending_migrations(schema)) != PENDING:
        raise RuntimeError(f"{schema} should lack only {PENDING}, it lacks {pending}")


def clone_script(cursor: psycopg.Cursor[Any], template: str) -> list[sql.Composable]:
    """Statements that remake `template`'s tables in the schema named by search_path.

    Every table is created LIKE its template table with everything but indexes (columns,
    defaults, identity, checks, storage); then primary keys, unique, exclusion and foreign
    key constraints and the other indexes are added under their own names, and the rows
    of django_migrations copied. Object names are resolved through search_path, which is
    the template schema while reading the definitions and the new schema while running them.
    """
    cursor.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(template)))
    cursor.execute(
        "SELECT count(*) FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid"
        " WHERE c.relnamespace = %s::regnamespace"
        " AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%'",
        (template,),
    )
    if (row := cursor.fetchone()) and row[0]:
        raise RuntimeError(f"{template} has serial columns; cloning them is not supported")

    cursor.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'"
        " ORDER BY relname",
        (template,),
    )
    tables = [name for (name,) in cursor.fetchall()]
    script: list[sql.Composable] = [
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(
            sql.Identifier(table), sql.Identifier(template, table)
        )
        for table in tables
    ]
    # Foreign keys last, once the keys they reference exist.
    cursor.execute(
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)"
        " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
        " WHERE k.connamespace = %s::regnamespace AND k.contype IN ('p', 'u', 'x', 'f')"
        " ORDER BY k.contype = 'f', c.relname, k.conname",
        (template,),
    )
    script += [
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
        )
        for table, name, definition in cursor.fetchall()
    ]
    # pg_get_indexdef always qualifies the table; keep what follows "USING".
    cursor.execute(
        "SELECT t.relname, i.relname, x.indisunique,"
        " split_part(pg_get_indexdef(x.indexrelid), ' USING ', 2)"
        " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_class t ON t.oid = x.indrelid"
        " WHERE t.relnamespace = %s::regnamespace AND t.relkind = 'r'"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)"
        " ORDER BY t.relname, i.relname",
        (template,),
    )
    script += [
        sql.SQL("CREATE {}INDEX {} ON {} USING {}").format(
            sql.SQL("UNIQUE " if unique else ""),
            sql.Identifier(index),
            sql.Identifier(table),
            sql.SQL(rest),
        )
        for table, index, unique, rest in cursor.fetchall()
    ]
    script.append(
        sql.SQL("INSERT INTO django_migrations (app, name, applied) SELECT app, name, applied")
        + sql.SQL(" FROM {} ORDER BY id").format(sql.Identifier(template, "django_migrations"))
    )
    cursor.execute("RESET search_path")
    return script


def clone_schemas(database_url: str, template: str, schemas: list[str]) -> None:
    """Create `schemas` as copies of `template`, with its django_migrations rows.

    Batches of CLONES_PER_TRANSACTION schemas go over CLONE_CONNECTIONS connections at once.
    """
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        script = clone_script(cursor, template)

    def clone_batch(batch: list[str]) -> None:
        statements: list[sql.Composable] = []
        for schema in batch:
            name = sql.Identifier(schema)
            statements.append(sql.SQL("CREATE SCHEMA {}").format(name))
            statements.append(sql.SQL("SET LOCAL search_path TO {}").format(name))
            statements += script
        with psycopg.connect(database_url) as conn:
            conn.execute(sql.SQL(";\n").join(statements))

    batches = [
        schemas[start : start + CLONES_PER_TRANSACTION]
        for start in range(0, len(schemas), CLONES_PER_TRANSACTION)
    ]
    with ThreadPoolExecutor(CLONE_CONNECTIONS) as pool:
        for _ in pool.map(clone_batch, batches):  # re-raises the first failure
            pass


def setup(schemas: int) -> dict[str, Any]:
    started = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    Client.objects.create(schema_name="public", name="public")  # the usual public tenant

    template = schema_name(1)
    create_template_tenant(template)
    names = [schema_name(number) for number in range(2, schemas + 1)]
    clone_schemas(os.environ["DATABASE_URL"], template, names)
    clients = Client.objects.bulk_create(
        [Client(schema_name=name, name=name) for name in names], batch_size=500
    )
    Domain.objects.bulk_create(
        [Domain(domain=f"{c.schema_name}.localhost", tenant=c, is_primary=True) for c in clients],
        batch_size=500,
    )
    # The last clone must look to Django exactly like the tenant made through it.
    if names and (pending := pending_migrations(names[-1])) != PENDING:
        raise RuntimeError(f"{names[-1]} should lack only {PENDING}, it lacks {pending}")
    return {"schemas": schemas, "setup_seconds": time.perf_counter() - started}


def migrate() -> dict[str, Any]:
    """The measurement: django-tenants' default (standard) executor, in this one process."""
    started = time.perf_counter()
    call_command("migrate_schemas", "--tenant")
    seconds = time.perf_counter() - started
    return {"seconds": seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("setup", "migrate"))
    parser.add_argument("--schemas", type=int, default=0)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.step == "setup":
        if args.schemas < 1:
            parser.error("setup needs --schemas N with N >= 1")
        result = setup(args.schemas)
    else:
        result = migrate()
    args.result.write_text(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
