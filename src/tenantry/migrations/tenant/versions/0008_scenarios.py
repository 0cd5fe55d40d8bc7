"""Scenarios: named business rules of the recommendations, and the default of each kind.

`scenarios` holds each scenario as the client writes it (`{"scenario_type", "case" |
"ab_test" | "condition" | "alias": {…}}`), keyed by its kind of recommendation and name;
the references between scenarios live in those documents, checked by the service.
`default_scenarios` names the scenario applied to a kind of recommendation when a request
names none; its foreign key keeps a default from being deleted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("reco_type", sa.String(64, collation="C"), nullable=False),
        sa.Column("name", sa.String(64, collation="C"), nullable=False),
        sa.Column("scenario", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("reco_type", "name", name="pk_scenarios"),
    )
    op.create_table(
        "default_scenarios",
        sa.Column("reco_type", sa.String(64, collation="C"), nullable=False),
        sa.Column("name", sa.String(64, collation="C"), nullable=False),
        sa.PrimaryKeyConstraint("reco_type", name="pk_default_scenarios"),
        sa.ForeignKeyConstraint(
            ["reco_type", "name"],
            ["scenarios.reco_type", "scenarios.name"],
            name="fk_default_scenarios_reco_type_scenarios",
            ondelete="RESTRICT",
        ),
    )


def downgrade() -> None:
    op.drop_table("default_scenarios")
    op.drop_table("scenarios")
