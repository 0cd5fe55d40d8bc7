"""Control-plane tables, in schema `tenantry`."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.db.base import ControlPlaneBase, Timestamps
from tenantry.ids import new_id
from tenantry.kernel.enums import DatabaseStatus, Role


class Organization(Timestamps, ControlPlaneBase):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(22), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    extra: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, default=dict, server_default=text("'{}'::jsonb")
    )


STATUSES_SQL = "(" + ", ".join(f"'{status}'" for status in DatabaseStatus) + ")"


class Database(Timestamps, ControlPlaneBase):
    """A tenant: one PostgreSQL schema holding the data-plane tables."""

    __tablename__ = "databases"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint(f"status IN {STATUSES_SQL}", name="status"),
        Index("ix_databases_org_id_created_at_id", "org_id", "created_at", "id"),  # the list
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
    # Test or live, fixed at creation; every key of the database shares its mode.
    livemode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    core_config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)


class AccountKind(StrEnum):
    INDIVIDUAL = "individual"
    SERVICE = "service"


ROLES_SQL = "(" + ", ".join(f"'{role}'" for role in Role) + ")"


class Account(Timestamps, ControlPlaneBase):
    """A person (email) or a service account (name), with one role in one organization."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES_SQL}", name="role"),
        CheckConstraint("kind IN ('individual', 'service')", name="kind"),
        CheckConstraint(
            "(kind = 'individual' AND email IS NOT NULL AND service_name IS NULL) OR "
            "(kind = 'service' AND service_name IS NOT NULL AND email IS NULL)",
            name="identity",
        ),
        Index(
            "uq_accounts_one_root_per_org",
            "org_id",
            unique=True,
            postgresql_where=text("role = 'root'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(22), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    service_name: Mapped[str | None] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # Edits the template in the admin panel; granted only by `tenantry operators grant`.
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    first_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    last_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    extra: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    # The email was proven: a code mailed to it was used (verify, or set a password).
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ServiceAccountKey(ControlPlaneBase):
    """A secret a service account logs in with instead of its password; only a SHA-256 of
    it is kept. Deleting it ends the logins made with it."""

    __tablename__ = "service_account_keys"

    id: Mapped[str] = mapped_column(String(22), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    extra: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CodePurpose(StrEnum):
    RESET_PASSWORD = "reset_password"  # noqa: S105  # a purpose, not a password
    VERIFY_EMAIL = "verify_email"


class AccountCode(ControlPlaneBase):
    """A code mailed to an account's email (set or reset its password, prove the email):
    single-use, expiring, kept only as a SHA-256; a newer one of the same purpose replaces
    it."""

    __tablename__ = "account_codes"
    __table_args__ = (
        CheckConstraint("purpose IN ('reset_password', 'verify_email')", name="purpose"),
        Index("ix_account_codes_account_id_purpose", "account_id", "purpose"),
    )

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Timestamps, ControlPlaneBase):
    """A key for one database, owned by an account (it dies with it, and never acts above
    its owner's role); only its prefix and a hash of the whole key are kept."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(f"role IN {ROLES_SQL}", name="role"),)

    id: Mapped[str] = mapped_column(String(22), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    database_id: Mapped[str] = mapped_column(
        ForeignKey("databases.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(ControlPlaneBase):
    """One refresh token of a rotation family; reusing a rotated one revokes the family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index(
            "ix_refresh_tokens_revoked_at",
            "revoked_at",
            postgresql_where=text("revoked_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(22), index=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    database_id: Mapped[str | None] = mapped_column(ForeignKey("databases.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the login named (control migration 0012): the app's user and anonymous session
    # behind a frontend login, as sent; the service account's key it was made with.
    frontend_user_id: Mapped[Any | None] = mapped_column(JSONB)
    frontend_session_id: Mapped[Any | None] = mapped_column(JSONB)
    service_key_id: Mapped[str | None] = mapped_column(
        ForeignKey("service_account_keys.id", ondelete="SET NULL"), index=True
    )


class LoginThrottle(ControlPlaneBase):
    """Failed logins counted per account and per client address."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SchemaKind(StrEnum):
    TEMPLATE = "template"
    DATABASE = "database"
    POOL = "pool"
    DROPPING = "dropping"


class TenantSchema(Timestamps, ControlPlaneBase):
    """Every data-plane schema and the tenant revision it is at, readable in one query.

    Each schema's own `alembic_version` is updated in the same transaction as its row here.
    """

    __tablename__ = "schemas"
    __table_args__ = (
        CheckConstraint("kind IN ('template', 'database', 'pool', 'dropping')", name="kind"),
        Index("ix_schemas_pool", "kind", "created_at", postgresql_where=text("kind = 'pool'")),
    )

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str | None] = mapped_column(String(32))
    # The template: how many statements changed its rows. A pool schema: the generation of
    # the template's rows it holds (None: none). Control migration 0011.
    template_generation: Mapped[int | None] = mapped_column(BigInteger)


class JobKind(StrEnum):
    PROVISION = "provision"
    DROP = "drop"
    TRAIN = "train"  # a database's recommendation models (`tenantry.data.recommendations`)


class Job(ControlPlaneBase):
    """Durable work for the in-process worker: provisioning or dropping a schema, training
    a database's recommendation models."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("kind IN ('provision', 'drop', 'train')", name="kind"),
        Index("ix_jobs_run_after", "run_after"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    database_id: Mapped[str | None] = mapped_column(
        ForeignKey("databases.id", ondelete="CASCADE"), index=True
    )
    schema_name: Mapped[str] = mapped_column(String(63))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    run_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IdempotencyRecord(ControlPlaneBase):
    """The stored answer to a create sent with an `Idempotency-Key`, written in the
    create's own transaction; `scope` hashes (database, principal, method, path, key)."""

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    database_id: Mapped[str] = mapped_column(
        ForeignKey("databases.id", ondelete="CASCADE"), index=True
    )
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class AdminSession(ControlPlaneBase):
    """A login to the admin panel: the cookie holds a random token, only its SHA-256 is
    kept here; it dies with its account or database."""

    __tablename__ = "admin_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    database_id: Mapped[str] = mapped_column(
        ForeignKey("databases.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(ControlPlaneBase):
    """One change of the control plane (or a login, a refused login), written in the
    change's own transaction: who (an account or key id, never a secret), from where, what
    (the columns before and after; of a `*_hash` only that it changed). Control migration 0015."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_org_id_id", "org_id", "id"),
        Index("ix_audit_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    org_id: Mapped[str | None] = mapped_column(String(22))  # no key: outlives its organization
    actor_account_id: Mapped[str | None] = mapped_column(String(22))
    actor_api_key_id: Mapped[str | None] = mapped_column(String(22))
    channel: Mapped[str] = mapped_column(String(16))  # api, admin, cli
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    database_id: Mapped[str | None] = mapped_column(String(22))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class RequestTraffic(ControlPlaneBase):
    """Requests of a database with an API key (`""`: with an access token) on a day, and of
    those the client and server errors, and the count per latency bucket
    (`tenantry.traffic`). Control migration 0016."""

    __tablename__ = "request_traffic"
    __table_args__ = (Index("ix_request_traffic_day", "day"),)

    database_id: Mapped[str] = mapped_column(String(22), primary_key=True)  # no key: batches
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    api_key_id: Mapped[str] = mapped_column(String(22), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger)
    client_errors: Mapped[int] = mapped_column(BigInteger)
    server_errors: Mapped[int] = mapped_column(BigInteger)
    latency: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
