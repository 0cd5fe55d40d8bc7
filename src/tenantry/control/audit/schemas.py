from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    action: str
    actor_account_id: str | None
    actor_api_key_id: str | None
    channel: str
    address: str | None
    target_type: str | None
    target_id: str | None
    database_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditMeta(BaseModel):
    next_cursor: str | None
    has_more: bool


class AuditPage(BaseModel):
    data: list[AuditEventRead]
    meta: AuditMeta


@dataclass(frozen=True)
class Filters:
    """What a page of the trail is narrowed to: an actor (account or key id), an action, a
    database, a time range."""

    actor: str | None = None
    action: str | None = None
    database_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
