from typing import Annotated, Any

from pydantic import BaseModel, EmailStr, Field, StrictInt, StrictStr

from tenantry.auth.passwords import MAX_LENGTH, MIN_LENGTH
from tenantry.control.databases.schemas import DatabaseSummary
from tenantry.kernel.enums import Role
from tenantry.kernel.schemas import Strict

Password = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)


class RegisterRequest(Strict):
    email: EmailStr = Field(max_length=320)
    password: str = Password
    organization_name: str | None = Field(default=None, min_length=1, max_length=200)


# An id of the app's user or anonymous session, as the database's id type sends it: a
# number, or a string (uuid, hex, base64 of bytes).
FrontendId = Annotated[
    Annotated[StrictInt, Field(ge=-(2**63), lt=2**64)]
    | Annotated[StrictStr, Field(max_length=256)],
    Field(description="Kept with the login (a frontend login's user or anonymous session)."),
]


class FrontendIds(Strict):
    frontend_user_id: FrontendId | None = None
    frontend_session_id: FrontendId | None = None


class IndividualLogin(FrontendIds):
    email: EmailStr = Field(max_length=320)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    db_id: str | None = Field(default=None, min_length=1, max_length=64)
    db_name: str | None = Field(default=None, min_length=1, max_length=200)


class RootLogin(Strict):
    email: EmailStr = Field(max_length=320)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class ServiceLogin(FrontendIds):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(
        min_length=1, max_length=MAX_LENGTH, description="The password, or one of its keys."
    )
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


class JwtAccount(BaseModel):
    id: str
    role: Role


class JwtDatabase(BaseModel):
    id: str
    item_id_type: str
    user_id_type: str
    session_id_type: str


class JwtLogin(BaseModel):
    """What an access token stands for; the frontend ids only when the login named them."""

    org_id: str
    account: JwtAccount
    database: JwtDatabase | None = None
    frontend_user_id: Any = None
    frontend_session_id: Any = None
