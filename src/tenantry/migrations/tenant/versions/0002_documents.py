"""Documents, their distinct tenant ids, and the counters kept beside the data.

`document_tenant_ids` holds each `tenant_id` in use with its number of documents, and
`counters` the number of such ids: statement-level triggers keep both in the writing
transaction, so listing tenant ids reads an index range and their total one row, however
many documents there are. Trigger functions name their tables through `TG_TABLE_SCHEMA`:
the schema's name is not known when this SQL is rendered, and changes when a pooled
schema is handed to a database.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Counters are spread over eight slots, so that concurrent writers seldom wait on one row;
# a counter's value is the sum of its slots. Called as `<schema>.add_to_counter(...)`.
ADD_TO_COUNTER = """
CREATE FUNCTION add_to_counter(target_schema text, counter text, delta bigint)
RETURNS void LANGUAGE plpgsql AS $body$
BEGIN
    IF delta <> 0 THEN
        EXECUTE format(
            'INSERT INTO %I.counters AS c (name, slot, value) VALUES ($1, $2, $3) '
            'ON CONFLICT (name, slot) DO UPDATE SET value = c.value + excluded.value',
            target_schema
        ) USING counter, floor(random() * 8)::smallint, delta;
    END IF;
END
$body$
"""

COUNT_TENANT_IDS = """
CREATE FUNCTION count_document_tenant_ids() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    changes text;
    added bigint;
    emptied text[];
BEGIN
    changes := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT tenant_id, 1 AS delta FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT tenant_id, -1 AS delta FROM old_rows'
        ELSE 'SELECT tenant_id, 1 AS delta FROM new_rows '
             'UNION ALL SELECT tenant_id, -1 FROM old_rows'
    END;
    EXECUTE format(
        'WITH changes AS ('
        '    SELECT tenant_id, sum(delta)::integer AS delta FROM (%2$s) AS rows '
        '    WHERE tenant_id IS NOT NULL GROUP BY tenant_id'
        '), merged AS ('
        '    INSERT INTO %1$I.document_tenant_ids AS t (tenant_id, documents) '
        '    SELECT tenant_id, delta FROM changes WHERE delta <> 0 ORDER BY tenant_id '
        '    ON CONFLICT (tenant_id) DO UPDATE SET documents = t.documents + excluded.documents '
        '    RETURNING t.tenant_id, t.documents, (t.xmax = 0) AS inserted'
        ') SELECT count(*) FILTER (WHERE inserted), '
        '         array_agg(tenant_id) FILTER (WHERE documents = 0) FROM merged',
        TG_TABLE_SCHEMA, changes
    ) INTO added, emptied;
    IF emptied IS NOT NULL THEN
        EXECUTE format(
            'DELETE FROM %I.document_tenant_ids WHERE tenant_id = ANY($1) AND documents = 0',
            TG_TABLE_SCHEMA
        ) USING emptied;
    END IF;
    EXECUTE format('SELECT %I.add_to_counter($1, $2, $3)', TG_TABLE_SCHEMA)
        USING TG_TABLE_SCHEMA, 'tenant_ids', added - coalesce(cardinality(emptied), 0);
    RETURN NULL;
END
$body$
"""

TRIGGERS = {
    "insert": "AFTER INSERT ON documents REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON documents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "AFTER DELETE ON documents REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("name", "slot", name="pk_counters"),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("title", sa.String(250), nullable=False),
        sa.Column("content", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("content_type", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("source_uri", sa.String(1000), nullable=True),
        sa.Column("tenant_id", sa.String(250, collation="C"), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
    )
    op.create_index("ix_documents_created_at_id", "documents", ["created_at", "id"])
    op.create_index(
        "ix_documents_tenant_id_created_at_id", "documents", ["tenant_id", "created_at", "id"]
    )
    op.create_table(
        "document_tenant_ids",
        sa.Column("tenant_id", sa.String(250, collation="C"), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_document_tenant_ids"),
    )
    op.execute(ADD_TO_COUNTER)
    op.execute(COUNT_TENANT_IDS)
    for event, clause in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER count_tenant_ids_on_{event} {clause} "
            "FOR EACH STATEMENT EXECUTE FUNCTION count_document_tenant_ids()"
        )


def downgrade() -> None:
    op.drop_table("document_tenant_ids")
    op.drop_table("documents")
    op.execute("DROP FUNCTION count_document_tenant_ids()")
    op.execute("DROP FUNCTION add_to_counter(text, text, bigint)")
    op.drop_table("counters")
