"""Warm-pool schemas hold the template's rows already; the databases list is an index scan.

`schemas.template_generation` counts, on the template's row, the statements that changed
the template's rows (a statement trigger on each of its tables calls
`tenantry.template_changed()`, installed by `upgrade_template`); on a pool schema's row,
it is the generation whose rows the schema holds (NULL: none). Provisioning renames a pool
schema of the current generation and copies nothing; a stale one is refilled first. The
trigger also wakes the workers, which refresh the pool.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenantry"

TEMPLATE_CHANGED = """
CREATE FUNCTION tenantry.template_changed() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    UPDATE tenantry.schemas
    SET template_generation = coalesce(template_generation, 0) + 1, updated_at = now()
    WHERE name = TG_TABLE_SCHEMA AND kind = 'template';
    PERFORM pg_notify('tenantry_jobs', 'template');
    RETURN NULL;
END
$body$
"""


def upgrade() -> None:
    op.add_column(
        "schemas", sa.Column("template_generation", sa.BigInteger(), nullable=True), schema=SCHEMA
    )
    op.execute("UPDATE tenantry.schemas SET template_generation = 0 WHERE kind = 'template'")
    op.execute(TEMPLATE_CHANGED)
    op.create_index(
        "ix_databases_org_id_created_at_id",
        "databases",
        ["org_id", "created_at", "id"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index("ix_databases_org_id_created_at_id", "databases", schema=SCHEMA)
    op.execute("DROP FUNCTION tenantry.template_changed() CASCADE")  # and the template's triggers
    op.drop_column("schemas", "template_generation", schema=SCHEMA)
