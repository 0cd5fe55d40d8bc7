"""Accounts, API keys, refresh tokens and login throttles.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenantry"
ROLES = "role IN ('root', 'manager', 'backend', 'frontend')"
TZ = sa.DateTime(timezone=True)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
    ]


def _fk(source: str, column: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{SCHEMA}.{table}.id"],
        ondelete=ondelete,
        name=f"fk_{source}_{column}_{table}",
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(22), nullable=False),
        sa.Column("org_id", sa.String(22), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("service_name", sa.String(200), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(ROLES, name="ck_accounts_role"),
        sa.CheckConstraint("kind IN ('individual', 'service')", name="ck_accounts_kind"),
        sa.CheckConstraint(
            "(kind = 'individual' AND email IS NOT NULL AND service_name IS NULL) OR "
            "(kind = 'service' AND service_name IS NOT NULL AND email IS NULL)",
            name="ck_accounts_identity",
        ),
        _fk("accounts", "org_id", "organizations", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.UniqueConstraint("service_name", name="uq_accounts_service_name"),
        schema=SCHEMA,
    )
    op.create_index("ix_accounts_org_id", "accounts", ["org_id"], schema=SCHEMA)
    op.create_index(
        "uq_accounts_one_root_per_org",
        "accounts",
        ["org_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("role = 'root'"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(22), nullable=False),
        sa.Column("org_id", sa.String(22), nullable=False),
        sa.Column("database_id", sa.String(22), nullable=False),
        sa.Column("account_id", sa.String(22), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", TZ, nullable=True),
        sa.Column("last_used_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        *_timestamps(),
        sa.CheckConstraint(ROLES, name="ck_api_keys_role"),
        _fk("api_keys", "org_id", "organizations", "CASCADE"),
        _fk("api_keys", "database_id", "databases", "CASCADE"),
        _fk("api_keys", "account_id", "accounts", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
        schema=SCHEMA,
    )
    op.create_index("ix_api_keys_org_id", "api_keys", ["org_id"], schema=SCHEMA)
    op.create_index("ix_api_keys_database_id", "api_keys", ["database_id"], schema=SCHEMA)
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(22), nullable=False),
        sa.Column("family_id", sa.String(22), nullable=False),
        sa.Column("account_id", sa.String(22), nullable=False),
        sa.Column("database_id", sa.String(22), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        _fk("refresh_tokens", "account_id", "accounts", "CASCADE"),
        _fk("refresh_tokens", "database_id", "databases", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_tokens"),
        schema=SCHEMA,
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], schema=SCHEMA)
    op.create_index("ix_refresh_tokens_account_id", "refresh_tokens", ["account_id"], schema=SCHEMA)
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", TZ, nullable=False),
        sa.Column("blocked_until", TZ, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttles"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("login_throttles", "refresh_tokens", "api_keys", "accounts"):
        op.drop_table(table, schema=SCHEMA)
