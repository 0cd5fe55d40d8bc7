"""The admin panel's sessions, and operators.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenantry"


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("is_operator", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "admin_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(22), nullable=False),
        sa.Column("database_id", sa.String(22), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            [f"{SCHEMA}.accounts.id"],
            ondelete="CASCADE",
            name="fk_admin_sessions_account_id_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["database_id"],
            [f"{SCHEMA}.databases.id"],
            ondelete="CASCADE",
            name="fk_admin_sessions_database_id_databases",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_admin_sessions"),
        schema=SCHEMA,
    )
    op.create_index("ix_admin_sessions_account_id", "admin_sessions", ["account_id"], schema=SCHEMA)
    op.create_index(
        "ix_admin_sessions_database_id", "admin_sessions", ["database_id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("admin_sessions", schema=SCHEMA)
    op.drop_column("accounts", "is_operator", schema=SCHEMA)
