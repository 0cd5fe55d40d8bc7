from pydantic import BaseModel, EmailStr, Field

from tenantry.auth.passwords import MAX_LENGTH, MIN_LENGTH
from tenantry.control.databases.schemas import DatabaseSummary
from tenantry.kernel.enums import Role
from tenantry.kernel.schemas import Strict

Password = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)


class RegisterRequest(Strict):
    email: EmailStr = Field(max_length=320)
    password: str = Password
    organization_name: str | None = Field(default=None, min_length=1, max_length=200)


class IndividualLogin(Strict):
    email: EmailStr = Field(max_length=320)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    db_id: str | None = Field(default=None, min_length=1, max_length=64)
    db_name: str | None = Field(default=None, min_length=1, max_length=200)


class ServiceLogin(Strict):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    db_id: str | None = Field(default=None, min_length=1, max_length=64)
    db_name: str | None = Field(default=None, min_length=1, max_length=200)


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=4096)
    db_id: str | None = Field(default=None, min_length=1, max_length=64)
    db_name: str | None = Field(default=None, min_length=1, max_length=200)


class LoginResponse(BaseModel):
    token: str
    refresh_token: str
    role: Role
    org_id: str
    database: DatabaseSummary | None = None


class RegisterResponse(LoginResponse):
    account_id: str
    api_key: str = Field(description="Shown once: store it now.")


class WhoAmI(BaseModel):
    org_id: str | None
    account_id: str | None
    api_key_id: str | None
    role: Role | None
    database_id: str | None
