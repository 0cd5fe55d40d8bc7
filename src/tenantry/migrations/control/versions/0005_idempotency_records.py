"""Idempotency records.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenantry"


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("database_id", sa.String(22), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["database_id"],
            [f"{SCHEMA}.databases.id"],
            ondelete="CASCADE",
            name="fk_idempotency_records_database_id_databases",
        ),
        sa.PrimaryKeyConstraint("scope", name="pk_idempotency_records"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_idempotency_records_database_id", "idempotency_records", ["database_id"], schema=SCHEMA
    )
    op.create_index(
        "ix_idempotency_records_created_at", "idempotency_records", ["created_at"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("idempotency_records", schema=SCHEMA)
