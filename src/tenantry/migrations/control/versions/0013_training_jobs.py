"""Training jobs: the worker trains a database's recommendation models, queued by the
API (`POST tasks/{name}/`) or by the data itself once enough of it is new.

`tenantry.queue_training()` is the trigger function of tenant revision 0007, defined once
for every schema (as the counting functions of revision 0009 are). After a statement writes
ratings or interactions, it compares the database's counters of both with what the last
training read; when at least `greatest(1000, a tenth of what that training read)` is new,
it records a training task in the schema and queues a `train` job, unless one is already
waiting or running (the tasks' partial unique index). Schemas of no ready database (the
template, the warm pool) queue nothing.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-20
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_TRAINING = """
CREATE FUNCTION tenantry.queue_training() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    seen bigint;
    trained bigint;
    database text;
    task uuid;
BEGIN
    EXECUTE format(
        'SELECT coalesce((SELECT sum(value) FROM %1$I.counters '
        '                 WHERE name IN (''rating'', ''interaction'')), 0)::bigint, '
        '       coalesce((SELECT max(data_count) FROM %1$I.reco_models), 0)::bigint',
        TG_TABLE_SCHEMA
    ) INTO seen, trained;
    IF seen - trained < greatest(1000, trained / 10) THEN
        RETURN NULL;
    END IF;
    SELECT id INTO database FROM tenantry.databases
    WHERE schema_name = TG_TABLE_SCHEMA AND status = 'ready';
    IF database IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'INSERT INTO %I.reco_tasks (name, status, progress, start_time) '
        'VALUES (''ml_model_retrain'', ''REQUEST_SENT'', ''queued: new data'', '
        '        extract(epoch FROM clock_timestamp())) '
        'ON CONFLICT DO NOTHING RETURNING task_id',
        TG_TABLE_SCHEMA
    ) INTO task;
    IF task IS NOT NULL THEN
        INSERT INTO tenantry.jobs (kind, database_id, schema_name)
        VALUES ('train', database, TG_TABLE_SCHEMA);
        PERFORM pg_notify('tenantry_jobs', '');
    END IF;
    RETURN NULL;
END
$body$
"""


# The kinds' check was named by the naming convention when revision 0003 made it: drop it
# by what it is (the one check of `jobs`), not by a name.
DROP_KIND_CHECK = """
DO $body$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT conname FROM pg_constraint
                WHERE conrelid = 'tenantry.jobs'::regclass AND contype = 'c' LOOP
        EXECUTE format('ALTER TABLE tenantry.jobs DROP CONSTRAINT %I', name);
    END LOOP;
END
$body$
"""


def _kinds(kinds: str) -> None:
    op.execute(DROP_KIND_CHECK)
    op.create_check_constraint(
        op.f("ck_jobs_kind"), "jobs", f"kind IN ({kinds})", schema="tenantry"
    )


def upgrade() -> None:
    _kinds("'provision', 'drop', 'train'")
    op.execute(QUEUE_TRAINING)


def downgrade() -> None:
    op.execute("DROP FUNCTION tenantry.queue_training()")
    op.execute("DELETE FROM tenantry.jobs WHERE kind = 'train'")
    _kinds("'provision', 'drop'")
