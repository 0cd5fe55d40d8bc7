"""Data-plane tables: the same set in every database's schema and in the template."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import KEPT_BY_TRIGGERS, DataPlaneBase, Timestamps
from tenantry.kernel.languages import SEARCH_VECTOR

NEW_UUID = text("gen_random_uuid()")


class TenantModel(Timestamps, DataPlaneBase):
    __tablename__ = "tenant_models"
    __table_args__ = (Index(None, "created_at", "tenant_model_id"),)

    tenant_model_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=NEW_UUID
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[str | None] = mapped_column(String(200))
    alias: Mapped[str | None] = mapped_column(String(200))
    is_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    overrides: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))


class Space(Timestamps, DataPlaneBase):
    __tablename__ = "spaces"
    __table_args__ = (Index(None, "created_at", "space_id"),)

    space_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=NEW_UUID)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=text("'{}'"))


class SpaceBackground(Timestamps, DataPlaneBase):
    """Kept apart from `spaces` so that reading a space never loads its image."""

    __tablename__ = "space_backgrounds"

    space_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("spaces.space_id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Counter(DataPlaneBase):
    """Counts kept by triggers in the writing transaction; a value is the sum of its slots."""

    __tablename__ = "counters"
    __table_args__ = KEPT_BY_TRIGGERS

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


# Indexes that migrations make only where the server has what they need (the HNSW index on
# documents' embeddings, where it has pgvector): no model declares them.
SERVER_DEPENDENT_INDEXES = frozenset({"ix_documents_embedding_hnsw"})


class Document(Timestamps, DataPlaneBase):
    __tablename__ = "documents"
    __table_args__ = (
        Index(None, "created_at", "id"),
        Index(None, "tenant_id", "created_at", "id"),
        Index(None, "search_vector", postgresql_using="gin"),
    )

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(250))
    content: Mapped[str] = mapped_column(Text, server_default=text("''"))
    content_type: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=text("'{}'"))
    source_uri: Mapped[str | None] = mapped_column(String(1000))
    tenant_id: Mapped[str | None] = mapped_column(String(250, collation="C"))
    # What search reads: `content` as text (HTML and Markdown converted; null until the
    # backfill converts a document written before search), its weighted lexemes, and its
    # embedding with the name of the model that made it (null until embedded).
    plain_text: Mapped[str | None] = mapped_column(Text)
    # Deferred: never read back as rows (a tsvector read would make asyncpg introspect its
    # type, which leaves a session setting behind).
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR, persisted=True), deferred=True
    )
    embedding: Mapped[list[float] | None] = mapped_column(ARRAY(REAL), deferred=True)
    embedding_model: Mapped[str | None] = mapped_column(String(200))


class SearchWord(DataPlaneBase):
    """Every word written in a title or a text, lower-cased: fuzzy search corrects a query's
    unknown words into these. Deleting documents leaves their words."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(100, collation="C"), primary_key=True)


class MetadataField(DataPlaneBase):
    """Each metadata field in use (dot notation) and the type its first value gave it."""

    __tablename__ = "metadata_fields"

    field: Mapped[str] = mapped_column(String(300, collation="C"), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))


class DocumentTenantId(DataPlaneBase):
    """Each `tenant_id` in use and its number of documents (kept by triggers)."""

    __tablename__ = "document_tenant_ids"
    __table_args__ = KEPT_BY_TRIGGERS

    tenant_id: Mapped[str] = mapped_column(String(250, collation="C"), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer)


class Item(DataPlaneBase):
    """Ids are stored in the canonical encoding of `tenantry.data.flexible_ids`."""

    __tablename__ = "items"

    item_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))


class User(DataPlaneBase):
    __tablename__ = "users"

    user_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))


class Rating(DataPlaneBase):
    """A user's rating of an item. It outlives the properties of either (tenant migration
    0005): deleting an item or a user deletes its properties, not its ratings."""

    __tablename__ = "ratings"
    __table_args__ = (Index(None, "item_id"),)

    user_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    item_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    rating: Mapped[float] = mapped_column(Double)
    timestamp: Mapped[float] = mapped_column(Double)


class ItemProperty(DataPlaneBase):
    """A declared item property: every written value is checked against it."""

    __tablename__ = "item_properties"

    property_name: Mapped[str] = mapped_column(String(64, collation="C"), primary_key=True)
    value_type: Mapped[str] = mapped_column(String(32))
    repeated: Mapped[bool] = mapped_column(Boolean)
    indexed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class UserProperty(DataPlaneBase):
    """A declared user property: every written value is checked against it."""

    __tablename__ = "user_properties"

    property_name: Mapped[str] = mapped_column(String(64, collation="C"), primary_key=True)
    value_type: Mapped[str] = mapped_column(String(32))
    repeated: Mapped[bool] = mapped_column(Boolean)
    indexed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Interaction(DataPlaneBase):
    """A user's interaction with an item: one event, kept as sent (`tenantry.data.interactions`).

    The primary key is a user's history in time order: lists and trainers read a user's
    interactions as one range of it. The same event sent again (same user, time, item and
    type) is stored once. Like ratings, interactions outlive the properties of their user
    or item."""

    __tablename__ = "interactions"
    __table_args__ = (Index(None, "timestamp"),)

    user_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    timestamp: Mapped[float] = mapped_column(Double, primary_key=True)
    item_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    interaction_type: Mapped[str] = mapped_column(String(64, collation="C"), primary_key=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))


class SessionInteraction(DataPlaneBase):
    """An anonymous session's interaction with an item; `interactions`' shape, the session
    in place of the user. Sessions are not rows of their own: a session is its interactions
    and its resolutions."""

    __tablename__ = "session_interactions"
    __table_args__ = (Index(None, "timestamp"),)

    session_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    timestamp: Mapped[float] = mapped_column(Double, primary_key=True)
    item_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    interaction_type: Mapped[str] = mapped_column(String(64, collation="C"), primary_key=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))


class ResolvedSession(DataPlaneBase):
    """An anonymous session resolved to a user, and when. A user may have many sessions,
    and a session may be resolved to more than one user."""

    __tablename__ = "resolved_sessions"
    __table_args__ = (Index(None, "session_id"),)

    user_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    session_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    timestamp: Mapped[float] = mapped_column(Double)


# --- recommendations (tenant revision 0007) ------------------------------------------------


class RecoModel(DataPlaneBase):
    """A trained model of one kind (`als`, `popularity`): its artefact and which training
    made it. All kinds of one training share its `version`; `data_count` is how many
    ratings and interactions it read (the rule that queues the next training compares)."""

    __tablename__ = "reco_models"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    algorithm: Mapped[str] = mapped_column(String(64))
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data_count: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    artefact: Mapped[bytes] = mapped_column(LargeBinary)


class RecoTask(DataPlaneBase):
    """A background task of the Crossing Minds API (`ml_model_retrain`, …). At most one of
    a name waits or runs at a time."""

    __tablename__ = "reco_tasks"
    __table_args__ = (
        Index(None, "name", "start_time"),
        Index(
            "ix_reco_tasks_waiting",
            "name",
            unique=True,
            postgresql_where=text("status IN ('REQUEST_SENT', 'RUNNING')"),
        ),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=NEW_UUID)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    progress: Mapped[str] = mapped_column(Text, server_default=text("''"))
    start_time: Mapped[float] = mapped_column(Double)
    end_time: Mapped[float | None] = mapped_column(Double)


class RecoPrecomputed(DataPlaneBase):
    """The recommendations of an item (`subject_kind` `item`) or a user (`user`), in order,
    as made by the training of `version`."""

    __tablename__ = "reco_precomputed"

    subject_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    items: Mapped[list[bytes]] = mapped_column(ARRAY(LargeBinary))


class InteractionRating(DataPlaneBase):
    """The rating an interaction type implies in this database, where it is not the
    default's (`tenantry.data.recommendations.training.DEFAULT_RATINGS`)."""

    __tablename__ = "interaction_ratings"

    interaction_type: Mapped[str] = mapped_column(String(64, collation="C"), primary_key=True)
    rating: Mapped[float] = mapped_column(Double)


# --- scenarios (tenant revision 0008) -------------------------------------------------------


class Scenario(Timestamps, DataPlaneBase):
    """A named set of business rules for one kind of recommendation (`reco_type`), as the
    client writes it: `{"scenario_type", "case" | "ab_test" | "condition" | "alias": {…}}`
    (`tenantry.data.recommendations.scenarios`)."""

    __tablename__ = "scenarios"

    reco_type: Mapped[str] = mapped_column(String(64, collation="C"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64, collation="C"), primary_key=True)
    scenario: Mapped[dict[str, Any]] = mapped_column(JSONB)


class DefaultScenario(DataPlaneBase):
    """The scenario applied to a kind of recommendation when the request names none. A
    scenario that is the default of its kind cannot be deleted."""

    __tablename__ = "default_scenarios"
    __table_args__ = (
        ForeignKeyConstraint(
            ["reco_type", "name"], ["scenarios.reco_type", "scenarios.name"], ondelete="RESTRICT"
        ),
    )

    reco_type: Mapped[str] = mapped_column(String(64, collation="C"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64, collation="C"))
