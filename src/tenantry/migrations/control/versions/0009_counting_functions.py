"""The functions that keep the data plane's counters, defined once for every schema.

Each schema used to carry its own copies, called by name. With thousands of schemas
PostgreSQL then had thousands of functions of each name, and resolving one (creating a
trigger, or the dynamic call the triggers made) walked the list of every function of that
name: a new schema cost more with each one made, and every counted write paid for it too.
The trigger functions already found their tables through `TG_TABLE_SCHEMA`, so one copy
serves all schemas; tenant revision 0004 points the triggers here.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Counters are spread over eight slots, so that concurrent writers seldom wait on one row;
# a counter's value is the sum of its slots.
ADD_TO_COUNTER = """
CREATE FUNCTION tenantry.add_to_counter(target_schema text, counter text, delta bigint)
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

# TG_ARGV[0] names the counter.
COUNT_ROWS = """
CREATE FUNCTION tenantry.count_rows() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    delta bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO delta FROM new_rows;
    ELSE
        SELECT -count(*) INTO delta FROM old_rows;
    END IF;
    PERFORM tenantry.add_to_counter(TG_TABLE_SCHEMA, TG_ARGV[0], delta);
    RETURN NULL;
END
$body$
"""

# `document_tenant_ids` holds each tenant id in use with its number of documents; the
# counter `tenant_ids`, how many there are.
COUNT_TENANT_IDS = """
CREATE FUNCTION tenantry.count_document_tenant_ids() RETURNS trigger LANGUAGE plpgsql AS $body$
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
    PERFORM tenantry.add_to_counter(
        TG_TABLE_SCHEMA, 'tenant_ids', added - coalesce(cardinality(emptied), 0)
    );
    RETURN NULL;
END
$body$
"""


def upgrade() -> None:
    op.execute(ADD_TO_COUNTER)
    op.execute(COUNT_ROWS)
    op.execute(COUNT_TENANT_IDS)


def downgrade() -> None:
    op.execute("DROP FUNCTION tenantry.count_document_tenant_ids()")
    op.execute("DROP FUNCTION tenantry.count_rows()")
    op.execute("DROP FUNCTION tenantry.add_to_counter(text, text, bigint)")
