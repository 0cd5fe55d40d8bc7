"""Data-plane tables: the same set in every database's schema and in the template."""

import uuid
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import DataPlaneBase, Timestamps

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
