"""SQL of accounts lookups, refresh tokens and login throttles."""

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert

from tenantry.control.models import Account, Database, LoginThrottle, RefreshToken
from tenantry.db.sessions import ControlSession


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


async def revoke_family(session: ControlSession, family_id: str, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def throttle_blocked_until(session: ControlSession, keys: list[str]) -> datetime | None:
    return await session.scalar(
        select(func.max(LoginThrottle.blocked_until)).where(LoginThrottle.key.in_(keys))
    )


async def count_failure(
    session: ControlSession,
    key: str,
    *,
    now: datetime,
    window_start: datetime,
    limit: int,
    block_until: datetime,
) -> None:
    """One more failure for `key`; the count restarts when its window has passed."""
    table = LoginThrottle.__table__
    expired = table.c.window_started_at < window_start
    count = case((expired, 1), else_=table.c.failures + 1)
    statement = insert(LoginThrottle).values(
        key=key, failures=1, window_started_at=now, blocked_until=None
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": count,
                "window_started_at": case((expired, now), else_=table.c.window_started_at),
                "blocked_until": case((count >= limit, block_until), else_=None),
            },
        )
    )


async def clear_throttle(session: ControlSession, key: str) -> None:
    await session.execute(
        update(LoginThrottle).where(LoginThrottle.key == key).values(failures=0, blocked_until=None)
    )
