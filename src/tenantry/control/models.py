"""Control-plane tables, in schema `tenantry`."""

from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import ControlPlaneBase, Timestamps
from tenantry.ids import new_id


class Organization(Timestamps, ControlPlaneBase):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(22), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))


class DatabaseStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class Database(Timestamps, ControlPlaneBase):
    """A tenant: one PostgreSQL schema holding the data-plane tables."""

    __tablename__ = "databases"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint("status IN ('pending', 'ready', 'failed')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(22), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    schema_name: Mapped[str] = mapped_column(String(63), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=DatabaseStatus.PENDING)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    item_id_type: Mapped[str] = mapped_column(String(32), default="uuid")
    user_id_type: Mapped[str] = mapped_column(String(32), default="uuid")
    session_id_type: Mapped[str] = mapped_column(String(32), default="uuid")
    core_config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
