"""Recommendations: trained models, training tasks, precomputed recommendations, and the
ratings that interaction types imply.

- `reco_models`: one row per kind of model (`als`, `popularity`), its artefact (`bytea`),
  the version of the training that made it (all kinds of one training share it), when,
  and how many ratings and interactions that training read (`data_count`).
- `reco_tasks`: the background tasks of the Crossing Minds API (`ml_model_retrain`, …),
  with their status and progress. At most one task of a name waits or runs at a time
  (a partial unique index): a second request finds it there.
- `reco_precomputed`: the recommendations of every item (`subject_kind` `item`) and of
  users (`user`), computed at training time, read by primary key.
- `interaction_ratings`: this database's rating for an interaction type, where it differs
  from the defaults (`tenantry.data.recommendations.training.DEFAULT_RATINGS`).

Statement-level triggers on `ratings` and `interactions` queue a training when enough new
data has arrived (control revision 0013, `tenantry.queue_training`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = ("ratings", "interactions")
WAITING = "status IN ('REQUEST_SENT', 'RUNNING')"


def upgrade() -> None:
    op.create_table(
        "reco_models",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("algorithm", sa.String(64), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_count", sa.BigInteger(), nullable=False),
        sa.Column("details", postgresql.JSONB(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("artefact", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name="pk_reco_models"),
    )
    # Artefacts are compressed numpy arrays already: storing them compressed again costs CPU.
    op.execute("ALTER TABLE reco_models ALTER COLUMN artefact SET STORAGE EXTERNAL")
    op.create_table(
        "reco_tasks",
        sa.Column(
            "task_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("progress", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("start_time", sa.Double(), nullable=False),
        sa.Column("end_time", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("task_id", name="pk_reco_tasks"),
    )
    op.create_index("ix_reco_tasks_name_start_time", "reco_tasks", ["name", "start_time"])
    op.create_index(
        "ix_reco_tasks_waiting",
        "reco_tasks",
        ["name"],
        unique=True,
        postgresql_where=sa.text(WAITING),
    )
    op.create_table(
        "reco_precomputed",
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("subject", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("items", postgresql.ARRAY(sa.LargeBinary()), nullable=False),
        sa.PrimaryKeyConstraint("subject_kind", "subject", name="pk_reco_precomputed"),
    )
    op.create_table(
        "interaction_ratings",
        sa.Column("interaction_type", sa.String(64, collation="C"), nullable=False),
        sa.Column("rating", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("interaction_type", name="pk_interaction_ratings"),
    )
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER train_on_new_{table} AFTER INSERT ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tenantry.queue_training()"
        )


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER train_on_new_{table} ON {table}")
    op.drop_table("interaction_ratings")
    op.drop_table("reco_precomputed")
    op.drop_table("reco_tasks")
    op.drop_table("reco_models")
