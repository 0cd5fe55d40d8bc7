"""Accounts, organizations and logins as the Crossing Minds client knows them.

Accounts get a first and last name, metadata and whether their email was proven;
organizations get metadata. Service accounts log in with keys (`service_account_keys`, a
SHA-256 of each). Codes mailed to an account (set or reset a password, prove an email) are
kept as a SHA-256, single-use and expiring (`account_codes`). A login keeps the frontend
user and anonymous session it named, and the service account's key it was made with, so
that deleting the key ends it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenantry"
EMPTY = sa.text("'{}'::jsonb")


def _fk(table: str, column: str, target: str, on_delete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{SCHEMA}.{target}.id"],
        name=f"fk_{table}_{column}_{target}",
        ondelete=on_delete,
    )


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("metadata", JSONB(), nullable=False, server_default=EMPTY),
        schema=SCHEMA,
    )
    for column in (
        sa.Column("first_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("last_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("metadata", JSONB(), nullable=False, server_default=EMPTY),
        sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false()),
    ):
        op.add_column("accounts", column, schema=SCHEMA)
    op.create_table(
        "service_account_keys",
        sa.Column("id", sa.String(22), nullable=False),
        sa.Column("account_id", sa.String(22), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("metadata", JSONB(), nullable=False, server_default=EMPTY),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        _fk("service_account_keys", "account_id", "accounts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_service_account_keys"),
        sa.UniqueConstraint("secret_hash", name="uq_service_account_keys_secret_hash"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_service_account_keys_account_id", "service_account_keys", ["account_id"], schema=SCHEMA
    )
    op.create_table(
        "account_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(22), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('reset_password', 'verify_email')", name="ck_account_codes_purpose"
        ),
        _fk("account_codes", "account_id", "accounts", "CASCADE"),
        sa.PrimaryKeyConstraint("code_hash", name="pk_account_codes"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_account_codes_account_id_purpose",
        "account_codes",
        ["account_id", "purpose"],
        schema=SCHEMA,
    )
    op.add_column("refresh_tokens", sa.Column("frontend_user_id", JSONB()), schema=SCHEMA)
    op.add_column("refresh_tokens", sa.Column("frontend_session_id", JSONB()), schema=SCHEMA)
    op.add_column("refresh_tokens", sa.Column("service_key_id", sa.String(22)), schema=SCHEMA)
    op.create_foreign_key(
        "fk_refresh_tokens_service_key_id_service_account_keys",
        "refresh_tokens",
        "service_account_keys",
        ["service_key_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_refresh_tokens_service_key_id", "refresh_tokens", ["service_key_id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_refresh_tokens_service_key_id", "refresh_tokens", schema=SCHEMA)
    for column in ("service_key_id", "frontend_session_id", "frontend_user_id"):
        op.drop_column("refresh_tokens", column, schema=SCHEMA)
    op.drop_table("account_codes", schema=SCHEMA)
    op.drop_table("service_account_keys", schema=SCHEMA)
    for column in ("verified", "metadata", "last_name", "first_name"):
        op.drop_column("accounts", column, schema=SCHEMA)
    op.drop_column("organizations", "metadata", schema=SCHEMA)
