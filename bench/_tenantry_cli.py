"""`tenantry` with the migration trees taken from BENCH_MIGRATIONS_DIR (a copy of the real
trees plus the benchmark's own revision), so a benchmark can time the real command."""

import os
from pathlib import Path

from tenantry.db import migrate

migrate.MIGRATIONS_DIR = Path(os.environ["BENCH_MIGRATIONS_DIR"])

from tenantry.cli import main  # noqa: E402  (after the trees are chosen)

main()
