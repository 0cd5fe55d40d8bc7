"""SQL of accounts, service accounts' keys and the codes mailed to accounts."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select, update

from tenantry.db.sessions import ControlSession
from tenantry.models.control import Account, AccountCode, RefreshToken, ServiceAccountKey


async def list_accounts(session: ControlSession, org_id: str) -> list[Account]:
    query = select(Account).where(Account.org_id == org_id).order_by(Account.created_at)
    return list((await session.scalars(query)).all())


async def account_of_org(
    session: ControlSession,
    org_id: str,
    *,
    email: str | None = None,
    service_name: str | None = None,
) -> Account | None:
    query = select(Account).where(Account.org_id == org_id)
    if email is not None:
        query = query.where(Account.email == email)
    if service_name is not None:
        query = query.where(Account.service_name == service_name)
    return await session.scalar(query.with_for_update())


async def individual_by_email(session: ControlSession, email: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == email))


async def keys_of(session: ControlSession, account_ids: Sequence[str]) -> list[ServiceAccountKey]:
    query = (
        select(ServiceAccountKey)
        .where(ServiceAccountKey.account_id.in_(account_ids))
        .order_by(ServiceAccountKey.created_at, ServiceAccountKey.id)
    )
    return list((await session.scalars(query)).all())


async def key_of_org(session: ControlSession, org_id: str, key_id: str) -> ServiceAccountKey | None:
    query = (
        select(ServiceAccountKey)
        .join(Account, Account.id == ServiceAccountKey.account_id)
        .where(ServiceAccountKey.id == key_id, Account.org_id == org_id)
    )
    return await session.scalar(query)


async def end_logins(
    session: ControlSession,
    now: datetime,
    *,
    account_id: str | None = None,
    service_key_id: str | None = None,
) -> set[str]:
    """Revoke the refresh-token families of an account, or of a service key: their access
    tokens are refused too (the trigger of control migration 0010). The families ended."""
    query = (
        update(RefreshToken)
        .where(RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(RefreshToken.family_id)
    )
    if account_id is not None:
        query = query.where(RefreshToken.account_id == account_id)
    if service_key_id is not None:
        query = query.where(RefreshToken.service_key_id == service_key_id)
    return set((await session.scalars(query)).all())


async def replace_code(
    session: ControlSession,
    account_id: str,
    purpose: str,
    code_hash: str,
    *,
    now: datetime,
    ttl: timedelta,
    cooldown: timedelta,
) -> bool:
    """Keep `code_hash` as the account's one code of `purpose`, unless one was made within
    `cooldown` (False: that one stays, and no new mail goes)."""
    recent = await session.scalar(
        select(AccountCode.code_hash).where(
            AccountCode.account_id == account_id,
            AccountCode.purpose == purpose,
            AccountCode.created_at > now - cooldown,
        )
    )
    if recent is not None:
        return False
    await session.execute(
        delete(AccountCode).where(
            AccountCode.account_id == account_id, AccountCode.purpose == purpose
        )
    )
    session.add(
        AccountCode(
            code_hash=code_hash,
            account_id=account_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return True


def _code_query(
    email: str, purpose: str, code_hash: str, now: datetime
) -> tuple[ColumnElement[bool], ...]:
    owner = select(Account.id).where(Account.email == email).scalar_subquery()
    return (
        AccountCode.code_hash == code_hash,
        AccountCode.purpose == purpose,
        AccountCode.expires_at > now,
        AccountCode.account_id == owner,
    )


async def code_is_live(
    session: ControlSession, email: str, purpose: str, code_hash: str, now: datetime
) -> bool:
    query = select(AccountCode.code_hash).where(*_code_query(email, purpose, code_hash, now))
    return await session.scalar(query) is not None


async def use_code(
    session: ControlSession, email: str, purpose: str, code_hash: str, now: datetime
) -> str | None:
    """Spend a live code of `email`: the account's id, or None. Deleted as it is used, so a
    code works once even when two requests race."""
    return await session.scalar(
        delete(AccountCode)
        .where(*_code_query(email, purpose, code_hash, now))
        .returning(AccountCode.account_id)
    )
