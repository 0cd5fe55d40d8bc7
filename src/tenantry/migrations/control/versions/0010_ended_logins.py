"""An ended login ends its access tokens too, in every process at once.

Revoking a refresh-token family (a logout, or a rotated token used again) sends
`family:<id>` on `tenantry_auth`; each process then refuses the family's access tokens
until they expire, and a process that starts (or listens again) reads the families
revoked lately through the partial index. A statement trigger sends one notice per family
however many of its tokens a statement revokes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_refresh_tokens_revoked_at",
        "refresh_tokens",
        ["revoked_at"],
        schema="tenantry",
        postgresql_where="revoked_at IS NOT NULL",
    )
    op.execute("""
        CREATE FUNCTION tenantry.notify_ended_logins() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('tenantry_auth', 'family:' || ended.family_id)
            FROM (
                SELECT DISTINCT new_rows.family_id
                FROM new_rows JOIN old_rows USING (id)
                WHERE new_rows.revoked_at IS NOT NULL AND old_rows.revoked_at IS NULL
            ) AS ended;
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER notify_ended_logins AFTER UPDATE ON tenantry.refresh_tokens
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION tenantry.notify_ended_logins()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER notify_ended_logins ON tenantry.refresh_tokens")
    op.execute("DROP FUNCTION tenantry.notify_ended_logins()")
    op.drop_index("ix_refresh_tokens_revoked_at", "refresh_tokens", schema="tenantry")
