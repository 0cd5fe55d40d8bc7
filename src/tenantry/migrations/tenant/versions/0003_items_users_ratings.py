"""Items, users and their ratings, counted by triggers.

Ids are `bytea` in the canonical encoding of `tenantry.data.flexible_ids`: the schema is
the same for every id type. Ratings die with their user or item (ON DELETE CASCADE).
Statement-level triggers with transition tables keep the counters `item`, `user` and
`rating` exact, one counter update per statement: an upsert counts only the rows it
inserted (PostgreSQL gives an INSERT trigger only those), and cascaded deletes fire the
ratings' DELETE trigger like any other.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# TG_ARGV[0] names the counter. The schema comes from TG_TABLE_SCHEMA: it is not known
# when this SQL is rendered, and changes when a pooled schema is handed to a database.
COUNT_ROWS = """
CREATE FUNCTION count_rows() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    delta bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO delta FROM new_rows;
    ELSE
        SELECT -count(*) INTO delta FROM old_rows;
    END IF;
    EXECUTE format('SELECT %I.add_to_counter($1, $2, $3)', TG_TABLE_SCHEMA)
        USING TG_TABLE_SCHEMA, TG_ARGV[0], delta;
    RETURN NULL;
END
$body$
"""

COUNTED = {"items": "item", "users": "user", "ratings": "rating"}


def upgrade() -> None:
    for table, key in (("items", "item_id"), ("users", "user_id")):
        op.create_table(
            table,
            sa.Column(key, sa.LargeBinary(), nullable=False),
            sa.Column(
                "properties", postgresql.JSONB(), server_default=sa.text("'{}'"), nullable=False
            ),
            sa.PrimaryKeyConstraint(key, name=f"pk_{table}"),
        )
    op.create_table(
        "ratings",
        sa.Column("user_id", sa.LargeBinary(), nullable=False),
        sa.Column("item_id", sa.LargeBinary(), nullable=False),
        sa.Column("rating", sa.Double(), nullable=False),
        sa.Column("timestamp", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name="fk_ratings_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.item_id"], name="fk_ratings_item_id_items", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "item_id", name="pk_ratings"),
    )
    op.create_index("ix_ratings_item_id", "ratings", ["item_id"])  # deleting an item
    op.execute(COUNT_ROWS)
    for table, counter in COUNTED.items():
        for event, clause in (
            ("insert", "NEW TABLE AS new_rows"),
            ("delete", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER count_{table}_on_{event} AFTER {event.upper()} ON {table} "
                f"REFERENCING {clause} FOR EACH STATEMENT EXECUTE FUNCTION count_rows('{counter}')"
            )


def downgrade() -> None:
    op.drop_table("ratings")
    op.drop_table("users")
    op.drop_table("items")
    op.execute("DROP FUNCTION count_rows()")
    op.execute("DELETE FROM counters WHERE name IN ('item', 'user', 'rating')")
