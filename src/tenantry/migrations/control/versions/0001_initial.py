"""Organizations and databases.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenantry"


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(22), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_organizations"),
        schema=SCHEMA,
    )
    op.create_table(
        "databases",
        sa.Column("id", sa.String(22), nullable=False),
        sa.Column("org_id", sa.String(22), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("schema_name", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("item_id_type", sa.String(32), nullable=False),
        sa.Column("user_id_type", sa.String(32), nullable=False),
        sa.Column("session_id_type", sa.String(32), nullable=False),
        sa.Column("core_config", postgresql.JSONB(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("status IN ('pending', 'ready', 'failed')", name="ck_databases_status"),
        sa.ForeignKeyConstraint(
            ["org_id"],
            [f"{SCHEMA}.organizations.id"],
            name="fk_databases_org_id_organizations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_databases"),
        sa.UniqueConstraint("org_id", "name", name="uq_databases_org_id_name"),
        sa.UniqueConstraint("schema_name", name="uq_databases_schema_name"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("databases", schema=SCHEMA)
    op.drop_table("organizations", schema=SCHEMA)
