"""API keys of the caller's current database."""

from datetime import datetime

from sqlalchemy import select

from tenantry.auth import api_keys
from tenantry.auth.context import ROLE_RANK, AuthContext
from tenantry.auth.errors import NoDatabaseSelected, RoleForbidden
from tenantry.control.accounts.service import AccountNotFound
from tenantry.db.sessions import ControlSession
from tenantry.errors import BadRequest, NotFound
from tenantry.ids import new_id
from tenantry.kernel.enums import Role
from tenantry.models.control import Account, AccountKind, ApiKey


class ApiKeyNotFound(NotFound):
    code = "API_KEY_NOT_FOUND"
    default_detail = "No API key of this database has this id."


def _database_id(caller: AuthContext) -> str:
    if caller.database is None:
        raise NoDatabaseSelected
    return caller.database.id


async def create(
    session: ControlSession,
    caller: AuthContext,
    *,
    name: str,
    role: Role,
    expires_at: datetime | None,
    now: datetime,
    owner_id: str | None = None,
) -> tuple[ApiKey, str]:
    assert caller.role is not None
    assert caller.org_id is not None
    if ROLE_RANK[role] > ROLE_RANK[caller.role]:
        raise RoleForbidden("A key cannot have a higher role than its creator.")
    owner_id = await _owner(session, caller, owner_id, role)
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise BadRequest(
            "expires_at must be a future time with a time zone.",
            errors={"expires_at": ["Must be in the future, with a time zone."]},
        )
    new = api_keys.generate()
    key = ApiKey(
        id=new_id(),
        org_id=caller.org_id,
        database_id=_database_id(caller),
        account_id=owner_id,
        name=name,
        role=role,
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return key, new.key


async def _owner(
    session: ControlSession, caller: AuthContext, owner_id: str | None, role: Role
) -> str:
    """The key's owner: the account behind the caller (a key made with a key belongs to
    that key's owner), or a service account of the caller's organization. A key with no
    owner makes no keys, so that every key is capped by, and dies with, an account."""
    maker = caller.acting_account_id
    if maker is None:
        raise RoleForbidden("A key with no owner cannot make keys; use an account's token.")
    if owner_id is None or owner_id == maker:
        return maker
    owner = await session.get(Account, owner_id)
    if owner is None or owner.org_id != caller.org_id:
        raise AccountNotFound
    if owner.kind != AccountKind.SERVICE:
        raise BadRequest(
            "A key is owned by its creator or by a service account.",
            errors={"account_id": ["Must name a service account, or be left out."]},
        )
    if ROLE_RANK[role] > ROLE_RANK[Role(owner.role)]:
        raise RoleForbidden("A key cannot have a higher role than its owner.")
    return owner.id


async def list_keys(session: ControlSession, caller: AuthContext) -> list[ApiKey]:
    query = (
        select(ApiKey)
        .where(ApiKey.database_id == _database_id(caller), ApiKey.org_id == caller.org_id)
        .order_by(ApiKey.created_at)
    )
    return list((await session.scalars(query)).all())


async def revoke(session: ControlSession, caller: AuthContext, key_id: str, now: datetime) -> None:
    key = await session.get(ApiKey, key_id)
    if key is None or key.database_id != _database_id(caller) or key.org_id != caller.org_id:
        raise ApiKeyNotFound
    key.revoked_at = key.revoked_at or now
