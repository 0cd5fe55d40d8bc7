from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from tenantry.control.auth.schemas import Password
from tenantry.kernel.enums import Role
from tenantry.kernel.schemas import Strict

AssignableRole = Role  # `root` is refused by the service: one per organization


class IndividualCreate(Strict):
    email: EmailStr = Field(max_length=320)
    password: str = Password
    role: AssignableRole


class ServiceCreate(Strict):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Password
    role: AssignableRole


class AccountUpdate(Strict):
    role: AssignableRole


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    role: Role
    email: str | None
    service_name: str | None
    created_at: datetime


class AccountList(BaseModel):
    accounts: list[AccountRead]
