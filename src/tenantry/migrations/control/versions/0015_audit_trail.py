"""The audit trail: one row per control-plane change, written in the change's transaction.

No foreign keys: an event outlives the organization, account, key or database it names.
Read newest first per organization (`org_id, id`); the worker deletes events older than
`TENANTRY_AUDIT_RETENTION` (`created_at`).

Revision ID: 0015
Revises: 0014
Create Date: 2027-01-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("org_id", sa.String(22)),
        sa.Column("actor_account_id", sa.String(22)),
        sa.Column("actor_api_key_id", sa.String(22)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32)),
        sa.Column("target_id", sa.String(64)),
        sa.Column("database_id", sa.String(22)),
        sa.Column("before", JSONB),
        sa.Column("after", JSONB),
        schema="tenantry",
    )
    op.create_index(
        "ix_audit_events_org_id_id", "audit_events", ["org_id", "id"], schema="tenantry"
    )
    op.create_index("ix_audit_events_created_at", "audit_events", ["created_at"], schema="tenantry")


def downgrade() -> None:
    op.drop_table("audit_events", schema="tenantry")
