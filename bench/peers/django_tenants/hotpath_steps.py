"""The Django side of `python -m bench hotpath`: make the tenants of schemas Tenantry made.

    python hotpath_steps.py setup --clients FILE --result FILE

DATABASE_URL names a database that Tenantry has filled; DJANGO_SETTINGS_MODULE is
benchsite.hotpath_settings. FILE holds one tenant a line, `schema_name sha256-of-its-key`.
django-tenants' shared tables go into the schema PUBLIC_SCHEMA_NAME (made here), and one
`Client` row per line is bulk-created: no schema is created or migrated for them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.hotpath_settings")

import django

django.setup()

from customers.models import Client  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import get_public_schema_name, quote_schema_name  # noqa: E402

BATCH = 1000


def setup(clients: Path) -> dict[str, Any]:
    started = time.perf_counter()
    shared = get_public_schema_name()
    if shared == "public":
        raise RuntimeError("PUBLIC_SCHEMA_NAME must not be public: that is Tenantry's template")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_schema_name(shared)}")
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    rows = [line.split() for line in clients.read_text().splitlines() if line.strip()]
    Client.objects.bulk_create(
        [Client(schema_name=schema, name=schema, api_key_sha256=digest) for schema, digest in rows],
        batch_size=BATCH,
    )
    return {"clients": len(rows), "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("setup",))
    parser.add_argument("--clients", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    args.result.write_text(json.dumps(setup(args.clients)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
