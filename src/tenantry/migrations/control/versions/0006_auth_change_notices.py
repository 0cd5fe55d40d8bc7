"""Every change that can alter who a credential is sends a NOTIFY on `tenantry_auth`, so
that each server process drops what it cached about the credentials it touches.

Triggers rather than application code: no path that writes these tables (the API, the
CLI, the worker, `tenantry migrate`, an operator's SQL) can forget to tell the caches.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (the columns that matter, the tag of the cached entries it touches)
WATCHED = {
    "api_keys": ("role, account_id, database_id, expires_at, revoked_at", "OLD.database_id"),
    "accounts": ("role, org_id", "OLD.id"),
    "databases": ("org_id, name, schema_name, status", "OLD.id"),
    "schemas": ("name, kind, version", "OLD.name"),
}


def upgrade() -> None:
    for table, (columns, tag) in WATCHED.items():
        op.execute(f"""
            CREATE FUNCTION tenantry.notify_auth_{table}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('tenantry_auth', {tag});
                RETURN NULL;
            END $$
        """)
        op.execute(f"""
            CREATE TRIGGER notify_auth AFTER UPDATE OF {columns} OR DELETE
            ON tenantry.{table} FOR EACH ROW EXECUTE FUNCTION tenantry.notify_auth_{table}()
        """)


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER notify_auth ON tenantry.{table}")
        op.execute(f"DROP FUNCTION tenantry.notify_auth_{table}()")
