"""Admin sessions, kept server side: the cookie holds a random token, the table
`tenantry.admin_sessions` its SHA-256, the account, the database and the CSRF token.

Each request re-reads the session with its account and database, so a deleted account or
database (the row goes with them), a database no longer ready, or a session idle for
longer than `admin_session_idle` ends it at once.
"""

import hashlib
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from tenantry.audit import Actor
from tenantry.auth.context import DatabaseRef
from tenantry.config import Settings
from tenantry.db.migrate import head
from tenantry.db.sessions import ControlSession, detached_session
from tenantry.kernel.enums import DatabaseStatus, Role
from tenantry.models.control import Account, AdminSession, Database, TenantSchema

COOKIE = "tenantry_admin"
TOUCH_AFTER = timedelta(minutes=1)  # the idle limit is pushed back at most this often


@dataclass(frozen=True)
class AdminIdentity:
    """Who is logged in to the admin panel, and in which database."""

    token_hash: str
    csrf_token: str
    account_id: str
    org_id: str
    email: str
    role: Role
    is_operator: bool
    database: DatabaseRef
    address: str | None = None  # the client's, for the audit trail

    @property
    def actor(self) -> Actor:
        """The admin as the audit trail names it."""
        return Actor("admin", org_id=self.org_id, account_id=self.account_id, address=self.address)

    @property
    def writes_data(self) -> bool:
        """Whether the role writes data (the API's matrix: frontend reads only)."""
        return self.role != Role.FRONTEND

    @property
    def manages(self) -> bool:
        """Whether the role manages databases, accounts and keys."""
        return self.role in (Role.ROOT, Role.MANAGER)


_current: ContextVar[AdminIdentity | None] = ContextVar("tenantry_admin", default=None)


def current_admin() -> AdminIdentity | None:
    """The identity of the admin request being served; None outside one."""
    return _current.get()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ready(database: Database, version: str | None) -> bool:
    return database.status == DatabaseStatus.READY and version == head("tenant")


async def start(
    session: ControlSession, *, account_id: str, database_id: str, now: datetime, idle: timedelta
) -> str:
    """A new session; the token for the cookie (only its hash is kept). The account's
    expired sessions go."""
    await session.execute(
        delete(AdminSession).where(
            AdminSession.account_id == account_id, AdminSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AdminSession(
            token_hash=hash_token(token),
            account_id=account_id,
            database_id=database_id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + idle,
        )
    )
    await session.flush()
    return token


async def end(session: ControlSession, token_hash: str) -> None:
    await session.execute(delete(AdminSession).where(AdminSession.token_hash == token_hash))


async def switch(session: ControlSession, token_hash: str, database_id: str) -> None:
    await session.execute(
        update(AdminSession)
        .where(AdminSession.token_hash == token_hash)
        .values(database_id=database_id)
    )


async def resolve(
    engine: AsyncEngine, token: str, *, now: datetime, idle: timedelta
) -> AdminIdentity | None:
    """The identity of a cookie's token, or None (and the session gone) when it no longer
    holds."""
    token_hash = hash_token(token)
    query = (
        select(AdminSession, Account, Database, TenantSchema.version)
        .join(Account, Account.id == AdminSession.account_id)
        .join(Database, Database.id == AdminSession.database_id)
        .outerjoin(TenantSchema, TenantSchema.name == Database.schema_name)
        .where(AdminSession.token_hash == token_hash, Database.org_id == Account.org_id)
    )
    async with detached_session(engine) as session:
        row = (await session.execute(query)).one_or_none()
        if row is None:
            return None
        stored, account, database, version = row
        if stored.expires_at <= now or not ready(database, version):
            await end(session, token_hash)
            return None
        if stored.expires_at - idle + TOUCH_AFTER <= now:
            stored.expires_at = now + idle
        return AdminIdentity(
            token_hash=token_hash,
            csrf_token=stored.csrf_token,
            account_id=account.id,
            org_id=account.org_id,
            email=account.email or account.service_name or "",
            role=Role(account.role),
            is_operator=account.is_operator,
            database=DatabaseRef.of(database, version),
        )


def set_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    secure = settings.admin_cookie_secure
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.admin_session_idle.total_seconds()),
        path="/",
        secure=request.url.scheme == "https" if secure is None else secure,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
