"""An API key belongs to an account: deleting the account deletes its keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenantry"
FK = "fk_api_keys_account_id_accounts"


def _owner_fk(ondelete: str) -> None:
    op.drop_constraint(FK, "api_keys", schema=SCHEMA, type_="foreignkey")
    op.create_foreign_key(
        FK,
        "api_keys",
        "accounts",
        ["account_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
        ondelete=ondelete,
    )


def upgrade() -> None:
    _owner_fk("CASCADE")
    op.create_index("ix_api_keys_account_id", "api_keys", ["account_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_api_keys_account_id", "api_keys", schema=SCHEMA)
    _owner_fk("SET NULL")
