"""Accounts of an organization, managed by its root and managers."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tenantry.auth.context import AuthContext
from tenantry.auth.passwords import hash_password
from tenantry.db.sessions import ControlSession
from tenantry.errors import BadRequest, Conflict, NotFound
from tenantry.ids import new_id
from tenantry.kernel.enums import Role
from tenantry.models.control import Account, AccountKind


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"
    default_detail = "No account of your organization has this id."


class DuplicatedAccount(Conflict):
    status = 400
    code = "DUPLICATED_ACCOUNT"
    default_detail = "An account with this email or name exists."


class RootIsUnique(BadRequest):
    code = "ROOT_IS_UNIQUE"
    default_detail = (
        "An organization has exactly one root account; it cannot be made, changed or deleted."
    )


async def list_accounts(session: ControlSession, caller: AuthContext) -> list[Account]:
    query = select(Account).where(Account.org_id == caller.org_id).order_by(Account.created_at)
    return list((await session.scalars(query)).all())


async def create(
    session: ControlSession,
    caller: AuthContext,
    *,
    role: Role,
    password: str,
    email: str | None = None,
    service_name: str | None = None,
) -> Account:
    if role == Role.ROOT:
        raise RootIsUnique
    assert caller.org_id is not None
    account = Account(
        id=new_id(),
        org_id=caller.org_id,
        role=role,
        email=email,
        service_name=service_name,
        kind=AccountKind.INDIVIDUAL if email else AccountKind.SERVICE,
        password_hash=await hash_password(password, client=caller.org_id),
    )
    session.add(account)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        raise DuplicatedAccount from error
    return account


async def _get(session: ControlSession, caller: AuthContext, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None or account.org_id != caller.org_id:
        raise AccountNotFound
    if account.role == Role.ROOT:
        raise RootIsUnique
    return account


async def change_role(
    session: ControlSession, caller: AuthContext, account_id: str, role: Role
) -> Account:
    if role == Role.ROOT:
        raise RootIsUnique
    account = await _get(session, caller, account_id)
    account.role = role
    await session.flush()
    await session.refresh(account)
    return account


async def delete(session: ControlSession, caller: AuthContext, account_id: str) -> None:
    account = await _get(session, caller, account_id)
    await session.delete(account)
