"""pgvector, where the server has it: semantic search ranks documents by the distance of
their embeddings through its HNSW indexes (tenant revision 0009). A server without it
still serves lexical search; semantic and hybrid search there answer 501
`SEMANTIC_SEARCH_UNAVAILABLE` (docs/data.md, "Search").

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE_VECTOR = """
DO $body$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        CREATE EXTENSION IF NOT EXISTS vector SCHEMA tenantry;
    END IF;
END
$body$
"""


def upgrade() -> None:
    op.execute(CREATE_VECTOR)


def downgrade() -> None:
    op.execute("DROP EXTENSION IF EXISTS vector")
