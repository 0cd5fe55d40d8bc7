"""The registry of data-plane schemas, and durable jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenantry"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schemas",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.String(32), nullable=True),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('template', 'database', 'pool', 'dropping')", name="ck_schemas_kind"
        ),
        sa.PrimaryKeyConstraint("name", name="pk_schemas"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_schemas_pool",
        "schemas",
        ["kind", "created_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("kind = 'pool'"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("database_id", sa.String(22), nullable=True),
        sa.Column("schema_name", sa.String(63), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("run_after", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('provision', 'drop')", name="ck_jobs_kind"),
        sa.ForeignKeyConstraint(
            ["database_id"],
            [f"{SCHEMA}.databases.id"],
            ondelete="CASCADE",
            name="fk_jobs_database_id_databases",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        schema=SCHEMA,
    )
    op.create_index("ix_jobs_run_after", "jobs", ["run_after"], schema=SCHEMA)
    op.create_index("ix_jobs_database_id", "jobs", ["database_id"], schema=SCHEMA)
    # Databases registered before the worker existed get their provisioning job now.
    op.execute(
        "INSERT INTO tenantry.jobs (kind, database_id, schema_name) "
        "SELECT 'provision', id, schema_name FROM tenantry.databases WHERE status = 'pending'"
    )


def downgrade() -> None:
    op.drop_table("jobs", schema=SCHEMA)
    op.drop_table("schemas", schema=SCHEMA)
