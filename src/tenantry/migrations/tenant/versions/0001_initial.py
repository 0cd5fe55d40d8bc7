"""Tenant models, spaces and space backgrounds.

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

NEW_UUID = sa.text("gen_random_uuid()")


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
        "tenant_models",
        sa.Column("tenant_model_id", sa.Uuid(), server_default=NEW_UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("model_id", sa.String(200), nullable=True),
        sa.Column("alias", sa.String(200), nullable=True),
        sa.Column("is_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("overrides", postgresql.JSONB(), server_default=sa.text("'{}'"), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_model_id", name="pk_tenant_models"),
    )
    op.create_index(
        "ix_tenant_models_created_at_tenant_model_id",
        "tenant_models",
        ["created_at", "tenant_model_id"],
    )
    op.create_table(
        "spaces",
        sa.Column("space_id", sa.Uuid(), server_default=NEW_UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(), server_default=sa.text("'{}'"), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("space_id", name="pk_spaces"),
    )
    op.create_index("ix_spaces_created_at_space_id", "spaces", ["created_at", "space_id"])
    op.create_table(
        "space_backgrounds",
        sa.Column("space_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.space_id"],
            name="fk_space_backgrounds_space_id_spaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("space_id", name="pk_space_backgrounds"),
    )


def downgrade() -> None:
    op.drop_table("space_backgrounds")
    op.drop_table("spaces")
    op.drop_table("tenant_models")
