"""Declared item and user properties; ratings outlive the properties of their item or user.

`item_properties` and `user_properties` hold each property's name, value type and whether
it is repeated: writes are checked against them. The properties already stored are declared
from what they hold, where that is unambiguous: a name whose values (ignoring nulls) are all
booleans (`bool`), all strings (`unicode`) or all numbers (`int64`, or `float64` when one is
fractional or out of the int64 range), always lists or never (`repeated`). Other names stay
undeclared: their values are kept, and must be declared before they are written again.

Deleting an item's or a user's properties keeps its ratings (as the Crossing Minds API
does), so the ratings' foreign keys to `items` and `users` go; the services check that both
exist when a rating is written.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = {"item_properties": "items", "user_properties": "users"}

# Plain SQL (tenant revisions are rendered once and replayed in every schema).
DECLARE_STORED = """
INSERT INTO {declared} (property_name, value_type, repeated)
SELECT name,
       CASE min(kind)
           WHEN 'boolean' THEN 'bool'
           WHEN 'string' THEN 'unicode'
           ELSE CASE WHEN bool_or(fractional) OR max(magnitude) >= 9223372036854775807
                     THEN 'float64' ELSE 'int64' END
       END,
       bool_or(repeated)
FROM (
    SELECT kv.key AS name,
           jsonb_typeof(kv.value) = 'array' AS repeated,
           jsonb_typeof(v.value) AS kind,
           CASE WHEN jsonb_typeof(v.value) = 'number'
                THEN v.value::numeric <> trunc(v.value::numeric) ELSE false END AS fractional,
           CASE WHEN jsonb_typeof(v.value) = 'number' THEN abs(v.value::numeric) ELSE 0 END
               AS magnitude
    FROM {rows} AS r
    CROSS JOIN LATERAL jsonb_each(r.properties) AS kv
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(kv.value) = 'array' THEN kv.value ELSE jsonb_build_array(kv.value)
        END
    ) AS v(value)
    WHERE jsonb_typeof(v.value) <> 'null'
) AS seen
WHERE name ~ '^[A-Za-z0-9_-]{{1,64}}$' AND name NOT IN ('item_id', 'user_id')
GROUP BY name
HAVING count(DISTINCT kind) = 1 AND count(DISTINCT repeated) = 1
   AND min(kind) IN ('boolean', 'string', 'number')
"""


def upgrade() -> None:
    for table, rows in TABLES.items():
        op.create_table(
            table,
            sa.Column("property_name", sa.String(64, collation="C"), nullable=False),
            sa.Column("value_type", sa.String(32), nullable=False),
            sa.Column("repeated", sa.Boolean(), nullable=False),
            sa.Column("indexed", sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.PrimaryKeyConstraint("property_name", name=f"pk_{table}"),
        )
        op.execute(DECLARE_STORED.format(declared=table, rows=rows))
    op.drop_constraint("fk_ratings_user_id_users", "ratings", type_="foreignkey")
    op.drop_constraint("fk_ratings_item_id_items", "ratings", type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM ratings WHERE user_id NOT IN (SELECT user_id FROM users)")
    op.execute("DELETE FROM ratings WHERE item_id NOT IN (SELECT item_id FROM items)")
    op.create_foreign_key(
        "fk_ratings_item_id_items",
        "ratings",
        "items",
        ["item_id"],
        ["item_id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_ratings_user_id_users",
        "ratings",
        "users",
        ["user_id"],
        ["user_id"],
        ondelete="CASCADE",
    )
    op.drop_table("user_properties")
    op.drop_table("item_properties")
