from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tenantry.kernel.enums import Role
from tenantry.kernel.schemas import Strict


class ApiKeyCreate(Strict):
    name: str = Field(default="", max_length=200)
    role: Role = Role.BACKEND
    expires_at: datetime | None = None
    account_id: str | None = Field(
        default=None,
        max_length=64,
        description="Owner: a service account of the organization (default: you). "
        "A key dies with its owner and never acts above its owner's role.",
    )


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    prefix: str
    name: str
    role: Role
    database_id: str
    account_id: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    livemode: bool = Field(default=False, description="The mode of the key's database.")


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="Shown once: store it now.")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyRead]
