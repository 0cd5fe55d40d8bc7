"""SQL of accounts lookups, refresh tokens and login throttles."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.auth.context import DatabaseRef
from tenantry.db.sessions import ControlSession, fetch_one
from tenantry.models.control import (
    Account,
    Database,
    LoginThrottle,
    RefreshToken,
    ServiceAccountKey,
    TenantSchema,
)


async def account_by_email(session: ControlSession, email: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == email))


async def account_by_service_name(session: ControlSession, name: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.service_name == name))


async def database_of_org(
    session: ControlSession, org_id: str, *, db_id: str | None, db_name: str | None
) -> Database | None:
    query = select(Database).where(Database.org_id == org_id)
    if db_id is not None:
        query = query.where(Database.id == db_id)
    if db_name is not None:
        query = query.where(Database.name == db_name)
    return await session.scalar(query)


async def database_ref(session: ControlSession, database: Database) -> DatabaseRef:
    """`database` as a caller's is known, with its schema's revision."""
    query = select(TenantSchema.version).where(TenantSchema.name == database.schema_name)
    return DatabaseRef.of(database, await session.scalar(query))


async def live_service_key(
    session: ControlSession, account_id: str, secret_hash: str, now: datetime
) -> str | None:
    """The id of the account's key with this hash, if it has not expired."""
    return await session.scalar(
        select(ServiceAccountKey.id).where(
            ServiceAccountKey.account_id == account_id,
            ServiceAccountKey.secret_hash == secret_hash,
            (ServiceAccountKey.expires_at.is_(None)) | (ServiceAccountKey.expires_at > now),
        )
    )


async def claim_refresh_token(
    session: ControlSession, jti: str, token_hash: str, now: datetime
) -> RefreshToken | None:
    """Mark an unused, unrevoked refresh token used; None if it was not."""
    return await session.scalar(
        update(RefreshToken)
        .where(
            RefreshToken.id == jti,
            RefreshToken.token_hash == token_hash,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .returning(RefreshToken)
    )


async def lock_family(session: ControlSession, family_id: str) -> None:
    """Take a login family's turn, until the transaction ends: its refreshes and its
    revocations run one at a time. Without it, refreshes racing on one token deadlocked: a
    loser's failed claim keeps the token's row locked (PostgreSQL locks the row's new
    version before finding it no longer matches), while another loser, revoking the family,
    waits for that row."""
    family = literal("tenantry.family:") + family_id
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(family, 0))))


async def revoke_family(session: ControlSession, family_id: str, now: datetime) -> None:
    """End every refresh token of a login, in the family's turn."""
    await lock_family(session, family_id)
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# Counts an attempt against each key before its password is checked, and finds the
# account: one statement outside any transaction, so that a row of the throttle is locked
# only while the statement runs, however many attempts from one address arrive at once.
# A key's count restarts when its window ($4: the window's start) has passed; past its
# limit the key is blocked until $5.
_RESERVE_AND_FIND = """
WITH reserved AS (
    INSERT INTO tenantry.login_throttles AS t (key, failures, window_started_at)
    SELECT key, 1, $3 FROM unnest($1::text[]) WITH ORDINALITY AS keys (key, n) ORDER BY n
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN t.window_started_at < $4 THEN 1 ELSE t.failures + 1 END,
        window_started_at = CASE WHEN t.window_started_at < $4 THEN $3
                                 ELSE t.window_started_at END,
        blocked_until = CASE
            WHEN t.blocked_until > $3 THEN t.blocked_until
            WHEN (CASE WHEN t.window_started_at < $4 THEN 1 ELSE t.failures + 1 END) > (
                SELECT lim FROM unnest($1::text[], $2::int[]) AS limits (key, lim)
                WHERE limits.key = t.key
            ) THEN $5
        END
    RETURNING t.blocked_until
)
SELECT (SELECT max(blocked_until) FROM reserved) AS blocked_until, a.id, a.password_hash
FROM (VALUES (1)) AS one LEFT JOIN tenantry.accounts AS a ON a.{column} = $6
"""
RESERVE_AND_FIND_BY_EMAIL = _RESERVE_AND_FIND.format(column="email")
RESERVE_AND_FIND_BY_SERVICE_NAME = _RESERVE_AND_FIND.format(column="service_name")


@dataclass(frozen=True)
class Attempt:
    blocked_until: datetime | None
    account_id: str | None
    password_hash: str | None


async def reserve_attempt(
    engine: AsyncEngine,
    statement: str,
    limits: dict[str, int],
    *,
    now: datetime,
    window: timedelta,
    who: str,
) -> Attempt:
    """Count a login attempt against each of `limits`' keys, and find the account `who`
    (with `statement`: by email or by service name)."""
    row = await fetch_one(
        engine,
        statement,
        list(limits),
        list(limits.values()),
        now,
        now - window,
        now + window,
        who,
    )
    return Attempt(row["blocked_until"], row["id"], row["password_hash"])


async def forgive_attempt(session: ControlSession, key: str) -> None:
    """Take back the attempt that `reserve_attempt` counted for `key`: it succeeded."""
    table = LoginThrottle.__table__
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(failures=func.greatest(table.c.failures - 1, 0))
    )


async def clear_throttle(session: ControlSession, key: str) -> None:
    await session.execute(
        update(LoginThrottle).where(LoginThrottle.key == key).values(failures=0, blocked_until=None)
    )
