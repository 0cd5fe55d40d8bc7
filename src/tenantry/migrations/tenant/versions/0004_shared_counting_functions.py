"""The counting triggers call the functions defined once in the control schema.

Each schema's own copies of `add_to_counter`, `count_rows` and `count_document_tenant_ids`
are dropped: with thousands of schemas, resolving a function by a name that thousands of
schemas share walked them all (control revision 0009 says more).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENTS = {
    "insert": "AFTER INSERT ON documents REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON documents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "AFTER DELETE ON documents REFERENCING OLD TABLE AS old_rows",
}
COUNTED = {"items": "item", "users": "user", "ratings": "rating"}
ROWS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}
FUNCTIONS = ("count_rows()", "count_document_tenant_ids()", "add_to_counter(text, text, bigint)")


def _point_triggers(at: str) -> None:
    """Replace every counting trigger by one calling the functions of schema `at` (empty:
    the schema's own, found by the search path)."""
    for event, clause in DOCUMENTS.items():
        op.execute(
            f"CREATE OR REPLACE TRIGGER count_tenant_ids_on_{event} {clause} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {at}count_document_tenant_ids()"
        )
    for table, counter in COUNTED.items():
        for event, clause in ROWS.items():
            op.execute(
                f"CREATE OR REPLACE TRIGGER count_{table}_on_{event} AFTER {event.upper()} "
                f"ON {table} {clause} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {at}count_rows('{counter}')"
            )


def upgrade() -> None:
    _point_triggers("tenantry.")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")


def downgrade() -> None:
    revisions = context.script
    op.execute(revisions.get_revision("0002").module.ADD_TO_COUNTER)
    op.execute(revisions.get_revision("0002").module.COUNT_TENANT_IDS)
    op.execute(revisions.get_revision("0003").module.COUNT_ROWS)
    _point_triggers("")
