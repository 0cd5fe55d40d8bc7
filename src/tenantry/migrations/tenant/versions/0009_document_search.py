"""Document search: each document's text, weighted lexemes and embedding, the words of the
database (fuzzy search corrects a query into them) and its metadata fields with their types.

`search_vector` is a generated column: the title weighs A, the text B, each stemmed by the
configuration of the document's language (`tenantry.kernel.languages` as it was here), so
adding this column indexes every existing document at once, and every later write keeps it
right in its transaction. `plain_text` stays null for documents written before: their
`content` is indexed as it is until the backfill (`tenantry migrate`) converts HTML and
Markdown, records their metadata fields and computes their embeddings. The words of
existing documents are collected here.

Where the server has pgvector (control revision 0014), an HNSW index ranks embeddings of
the packaged model's 256 dimensions by cosine distance (a model declares no such index:
`tenantry.models.data.SERVER_DEPENDENT_INDEXES`); a partial index, so that vectors of
another model's size are stored without it and searched exactly.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONFIGURATIONS = {
    "ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek",
    "en": "english", "es": "spanish", "eu": "basque", "fi": "finnish", "fr": "french",
    "ga": "irish", "hi": "hindi", "hu": "hungarian", "hy": "armenian", "id": "indonesian",
    "it": "italian", "lt": "lithuanian", "nb": "norwegian", "ne": "nepali", "nl": "dutch",
    "no": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sr": "serbian", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip
CONFIG = (
    "CASE lower(language) "
    + " ".join(f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in CONFIGURATIONS.items())
    + " ELSE 'simple'::regconfig END"
)
SEARCH_VECTOR = (
    f"setweight(to_tsvector({CONFIG}, title), 'A') || "
    f"setweight(to_tsvector({CONFIG}, coalesce(plain_text, content)), 'B')"
)
WORDS = """
INSERT INTO search_words (word)
SELECT DISTINCT word FROM documents,
    unnest(tsvector_to_array(to_tsvector('simple', title || ' ' || content))) AS word
WHERE length(word) <= 100
ON CONFLICT DO NOTHING
"""
HNSW = """
DO $body$
DECLARE
    home text := (SELECT extnamespace::regnamespace::text FROM pg_extension
                  WHERE extname = 'vector');
BEGIN
    IF home IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX ix_documents_embedding_hnsw ON documents USING hnsw '
            '((embedding::%1$s.vector(256)) %1$s.vector_cosine_ops) '
            'WHERE cardinality(embedding) = 256',
            home
        );
    END IF;
END
$body$
"""


def upgrade() -> None:
    op.add_column("documents", sa.Column("plain_text", sa.Text(), nullable=True))
    op.add_column(
        "documents",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_VECTOR, persisted=True),
            nullable=True,
        ),
    )
    op.add_column("documents", sa.Column("embedding", postgresql.ARRAY(sa.REAL()), nullable=True))
    op.add_column("documents", sa.Column("embedding_model", sa.String(200), nullable=True))
    op.create_index(
        "ix_documents_search_vector", "documents", ["search_vector"], postgresql_using="gin"
    )
    op.create_table(
        "search_words",
        sa.Column("word", sa.String(100, collation="C"), nullable=False),
        sa.PrimaryKeyConstraint("word", name="pk_search_words"),
    )
    op.create_table(
        "metadata_fields",
        sa.Column("field", sa.String(300, collation="C"), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("field", name="pk_metadata_fields"),
    )
    op.execute(WORDS)
    op.execute(HNSW)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_documents_embedding_hnsw")
    op.drop_table("metadata_fields")
    op.drop_table("search_words")
    op.drop_index("ix_documents_search_vector", table_name="documents")
    for column in ("embedding_model", "embedding", "search_vector", "plain_text"):
        op.drop_column("documents", column)
