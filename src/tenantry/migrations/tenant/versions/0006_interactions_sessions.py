"""Interactions of users and of anonymous sessions, and the sessions resolved to users.

`interactions` and `session_interactions` are event logs keyed by (owner, timestamp, item,
interaction type): a user's (a session's) history is one range of the primary key, in time
order, which is how lists page through it and how a trainer scans it. A second index on
`timestamp` serves the lists bounded in time. `resolved_sessions` says which sessions were
resolved to which users. Like ratings since revision 0005, no foreign keys: the services
check that users and items exist when they are written, and interactions outlive the
properties of their user or item.

Statement-level triggers keep the counters `interaction` and `session_interaction` (the
functions of control revision 0009), as for ratings.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOGS = {"interactions": "user_id", "session_interactions": "session_id"}
COUNTED = {"interactions": "interaction", "session_interactions": "session_interaction"}
ROWS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    for table, owner in LOGS.items():
        op.create_table(
            table,
            sa.Column(owner, sa.LargeBinary(), nullable=False),
            sa.Column("timestamp", sa.Double(), nullable=False),
            sa.Column("item_id", sa.LargeBinary(), nullable=False),
            sa.Column("interaction_type", sa.String(64, collation="C"), nullable=False),
            sa.Column(
                "properties", postgresql.JSONB(), server_default=sa.text("'{}'"), nullable=False
            ),
            sa.PrimaryKeyConstraint(
                owner, "timestamp", "item_id", "interaction_type", name=f"pk_{table}"
            ),
        )
        op.create_index(f"ix_{table}_timestamp", table, ["timestamp"])
    op.create_table(
        "resolved_sessions",
        sa.Column("user_id", sa.LargeBinary(), nullable=False),
        sa.Column("session_id", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "session_id", name="pk_resolved_sessions"),
    )
    op.create_index("ix_resolved_sessions_session_id", "resolved_sessions", ["session_id"])
    for table, counter in COUNTED.items():
        for event, clause in ROWS.items():
            op.execute(
                f"CREATE TRIGGER count_{table}_on_{event} AFTER {event.upper()} ON {table} "
                f"{clause} FOR EACH STATEMENT EXECUTE FUNCTION tenantry.count_rows('{counter}')"
            )


def downgrade() -> None:
    op.drop_table("resolved_sessions")
    op.drop_table("session_interactions")
    op.drop_table("interactions")
    op.execute("DELETE FROM counters WHERE name IN ('interaction', 'session_interaction')")
