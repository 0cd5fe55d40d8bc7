from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, HttpUrl

from tenantry.auth.passwords import MAX_LENGTH, MIN_LENGTH
from tenantry.control.auth.schemas import Password
from tenantry.kernel.enums import Role
from tenantry.kernel.schemas import Strict
from tenantry.models.control import ServiceAccountKey

AssignableRole = Role  # `root` is refused by the service: one per organization
# The Crossing Minds client's timestamps' bounds (its reference: years -2786 to 2080).
MAX_TIMESTAMP = 3_500_000_000.0


def _one_element(value: object) -> object:
    """xminds 0.6 sends an updated name as a one-element list (a stray comma): take it."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


PersonName = Annotated[str, BeforeValidator(_one_element), Field(max_length=200)]
Metadata = Annotated[dict[str, Any], Field(description="Any JSON object, kept as sent.")]
ServiceName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]
Email = Annotated[EmailStr, Field(max_length=320)]
RedirectUrl = Annotated[
    HttpUrl,
    Field(
        max_length=2000,
        description="Where the mail's link leads, with `email`, `code` and "
        "`code_expiration_timestamp` added to its query; only for a host the server lists "
        "in TENANTRY_MAIL_REDIRECT_HOSTS (else the mail carries the code alone).",
    ),
]
Code = Annotated[str, Field(min_length=1, max_length=200)]


class IndividualCreate(Strict):
    email: Email
    password: str | None = Field(
        default=None,
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        description="Left out: a code to set it is mailed to the account's email.",
    )
    first_name: PersonName = ""
    last_name: PersonName = ""
    role: AssignableRole = Role.BACKEND
    metadata: Metadata = Field(default_factory=dict)
    email_redirect_url: RedirectUrl | None = None


class ServiceCreate(Strict):
    name: ServiceName
    password: str | None = Field(
        default=None,
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        description="Left out: the account logs in with its keys only.",
    )
    role: AssignableRole = Role.FRONTEND
    metadata: Metadata = Field(default_factory=dict)


class AccountUpdate(Strict):
    role: AssignableRole


class IndividualUpdate(Strict):
    """The account named by `email`; members left out are not changed."""

    email: Email
    password: str | None = Field(default=None, min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    metadata: Metadata | None = None
    role: AssignableRole | None = None


class ServiceUpdate(Strict):
    """The service account named by `name`; members left out are not changed."""

    name: ServiceName
    password: str | None = Field(default=None, min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    metadata: Metadata | None = None
    role: AssignableRole | None = None


class IndividualRef(Strict):
    email: Email


class ServiceRef(Strict):
    name: ServiceName


class ServiceKeyCreate(Strict):
    name: ServiceName = Field(description="The service account's name.")
    expiration_timestamp: float | None = Field(
        default=None, gt=0, le=MAX_TIMESTAMP, description="Seconds since the epoch."
    )
    metadata: Metadata = Field(default_factory=dict)


class ResetPasswordEmail(Strict):
    email: Email
    email_redirect_url: RedirectUrl | None = None


class PasswordReset(Strict):
    email: Email
    code: Code
    new_password: str = Password
    code_expiration_timestamp: float | None = Field(
        default=None,
        ge=-MAX_TIMESTAMP,
        le=MAX_TIMESTAMP,
        description="As the mail gave it; the server keeps its own expiry and ignores it.",
    )


class VerificationResend(Strict):
    email: Email


class Verified(BaseModel):
    verified: bool
    email: str


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    role: Role
    email: str | None
    service_name: str | None
    first_name: str
    last_name: str
    metadata: dict[str, Any] = Field(validation_alias="extra")
    verified: bool
    created_at: datetime


class AccountList(BaseModel):
    accounts: list[AccountRead]


class ServiceKeyRead(BaseModel):
    id: str
    created_timestamp: float
    expiration_timestamp: float | None
    is_expired: bool
    metadata: dict[str, Any]


class ServiceKeyCreated(ServiceKeyRead):
    key: str = Field(description="Shown once: store it now. Log in with it as the password.")
    expire_timestamp: float | None = Field(description="The client's name for the expiry.")


def key_read(key: ServiceAccountKey, now: datetime) -> ServiceKeyRead:
    return ServiceKeyRead(
        id=key.id,
        created_timestamp=key.created_at.timestamp(),
        expiration_timestamp=key.expires_at.timestamp() if key.expires_at else None,
        is_expired=key.expires_at is not None and key.expires_at <= now,
        metadata=key.extra,
    )
