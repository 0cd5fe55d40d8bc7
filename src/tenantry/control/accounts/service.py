"""Accounts of an organization, managed by its root and managers; service accounts' keys;
the codes mailed to an account's email (set or reset its password, prove the email)."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.auth.context import AuthContext
from tenantry.auth.errors import RoleForbidden
from tenantry.auth.passwords import hash_password
from tenantry.config import Settings
from tenantry.control.accounts import repository
from tenantry.control.auth import service_keys
from tenantry.control.auth.service_keys import hash_secret
from tenantry.control.mail.sender import Mail
from tenantry.db.sessions import ControlSession, detached_session
from tenantry.errors import BadRequest, Conflict, NotFound
from tenantry.ids import new_id
from tenantry.kernel.enums import Role
from tenantry.models.control import Account, AccountKind, CodePurpose, ServiceAccountKey

CODE_COOLDOWN = timedelta(minutes=1)  # one mail per account and purpose per minute


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"
    resource = "account"
    default_detail = "No account of your organization has this id."


class ServiceKeyNotFound(NotFound):
    code = "SERVICE_KEY_NOT_FOUND"
    resource = "service account key"
    default_detail = "No key of a service account of your organization has this id."


class DuplicatedAccount(Conflict):
    """'The {type} {key} is duplicated': the individual account's email, or the service
    account's name."""

    status = 400
    code = "DUPLICATED_ACCOUNT"
    default_detail = "An account with this email or name exists."

    def __init__(self, *, email: str | None, service_name: str | None) -> None:
        key: str | None
        if email is not None:
            kind, key, field = "individual account", email, "email"
        else:
            kind, key, field = "service account", service_name, "name"
        super().__init__(
            f"The {kind} {key} is duplicated.",
            errors={field: [self.default_detail]},
            data={"type": kind, "key": key},
        )


class RootIsUnique(BadRequest):
    code = "ROOT_IS_UNIQUE"
    default_detail = (
        "An organization has exactly one root account; it cannot be made, changed or deleted."
    )


class InvalidCode(BadRequest):
    code = "INVALID_CODE"
    default_detail = "The code is not valid: wrong, already used, expired or replaced."

    def __init__(self) -> None:
        super().__init__(errors={"code": [self.default_detail]})


def _org(caller: AuthContext) -> str:
    assert caller.org_id is not None
    return caller.org_id


async def list_accounts(session: ControlSession, caller: AuthContext) -> list[Account]:
    return await repository.list_accounts(session, _org(caller))


async def unusable_password_hash() -> str:
    """The hash of a secret nobody knows: an account without a password is checked like
    any other (same cost), and no password opens it."""
    return await hash_password(secrets.token_urlsafe(32))


async def create(
    session: ControlSession,
    caller: AuthContext,
    *,
    role: Role,
    password: str | None,
    email: str | None = None,
    service_name: str | None = None,
    first_name: str = "",
    last_name: str = "",
    metadata: dict[str, Any] | None = None,
) -> Account:
    if role == Role.ROOT:
        raise RootIsUnique
    account = Account(
        id=new_id(),
        org_id=_org(caller),
        role=role,
        email=email,
        service_name=service_name,
        kind=AccountKind.INDIVIDUAL if email else AccountKind.SERVICE,
        password_hash=(
            await hash_password(password, client=_org(caller))
            if password is not None
            else await unusable_password_hash()
        ),
        first_name=first_name,
        last_name=last_name,
        extra=metadata or {},
    )
    session.add(account)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        raise DuplicatedAccount(email=email, service_name=service_name) from error
    return account


async def _get(session: ControlSession, caller: AuthContext, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None or account.org_id != caller.org_id:
        raise AccountNotFound(data={"key": account_id})
    if account.role == Role.ROOT:
        raise RootIsUnique
    return account


async def by_email(session: ControlSession, caller: AuthContext, email: str) -> Account:
    account = await repository.account_of_org(session, _org(caller), email=email)
    if account is None:
        raise AccountNotFound(
            "No account of your organization has this email.", data={"key": email}
        )
    return account


async def by_service_name(session: ControlSession, caller: AuthContext, name: str) -> Account:
    account = await repository.account_of_org(session, _org(caller), service_name=name)
    if account is None:
        raise AccountNotFound(
            "No service account of your organization has this name.",
            data={"type": "service account", "key": name},
        )
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


async def update(
    session: ControlSession,
    caller: AuthContext,
    account: Account,
    *,
    now: datetime,
    password: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    role: Role | None = None,
) -> tuple[Account, set[str]]:
    """Root and managers edit any account of their organization but the root; anyone
    edits their own (not their role). A password set by someone else ends the account's
    logins (the families ended are returned)."""
    own = account.id == caller.account_id
    manages = caller.role in (Role.ROOT, Role.MANAGER)
    if not own and not manages:
        raise RoleForbidden("Only root and managers edit other accounts.")
    if role is not None and role != account.role:
        if role == Role.ROOT or account.role == Role.ROOT:
            raise RootIsUnique
        if not manages:
            raise RoleForbidden("Only root and managers change roles.")
        account.role = role
    elif not own and account.role == Role.ROOT:
        raise RootIsUnique
    ended: set[str] = set()
    if password is not None:
        account.password_hash = await hash_password(password, client=_org(caller))
        if not own:
            ended = await repository.end_logins(session, now, account_id=account.id)
    if first_name is not None:
        account.first_name = first_name
    if last_name is not None:
        account.last_name = last_name
    if metadata is not None:
        account.extra = metadata
    await session.flush()
    await session.refresh(account)
    return account, ended


async def delete(session: ControlSession, caller: AuthContext, account: Account) -> None:
    if account.role == Role.ROOT:
        raise RootIsUnique
    await session.delete(account)


async def delete_by_id(session: ControlSession, caller: AuthContext, account_id: str) -> None:
    await delete(session, caller, await _get(session, caller, account_id))


# --- service accounts' keys ---------------------------------------------------------------


async def create_key(
    session: ControlSession,
    caller: AuthContext,
    *,
    name: str,
    expires_at: datetime | None,
    metadata: dict[str, Any],
    now: datetime,
) -> tuple[ServiceAccountKey, str]:
    account = await by_service_name(session, caller, name)
    if expires_at is not None and expires_at <= now:
        raise BadRequest(
            "expiration_timestamp must be in the future.",
            errors={"expiration_timestamp": ["Must be in the future."]},
        )
    secret = service_keys.generate()
    key = ServiceAccountKey(
        id=new_id(),
        account_id=account.id,
        secret_hash=hash_secret(secret),
        extra=metadata,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def delete_key(
    session: ControlSession, caller: AuthContext, key_id: str, *, now: datetime
) -> set[str]:
    """The key logs in no more, and the logins made with it end (their families)."""
    key = await repository.key_of_org(session, _org(caller), key_id)
    if key is None:
        raise ServiceKeyNotFound(data={"key": key_id})
    ended = await repository.end_logins(session, now, service_key_id=key.id)
    await session.delete(key)
    return ended


async def keys_by_account(
    session: ControlSession, accounts: list[Account]
) -> dict[str, list[ServiceAccountKey]]:
    service = [a.id for a in accounts if a.kind == AccountKind.SERVICE]
    keys: dict[str, list[ServiceAccountKey]] = {account_id: [] for account_id in service}
    for key in await repository.keys_of(session, service) if service else []:
        keys[key.account_id].append(key)
    return keys


# --- codes by mail ------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeMail:
    purpose: CodePurpose
    subject: str
    action: str


SET_PASSWORD = CodeMail(
    CodePurpose.RESET_PASSWORD, "Set your password", "set the password of your account"
)
RESET_PASSWORD = CodeMail(
    CodePurpose.RESET_PASSWORD, "Reset your password", "set a new password for your account"
)
VERIFY_EMAIL = CodeMail(CodePurpose.VERIFY_EMAIL, "Verify your email", "verify your email")


async def mail_code(
    session: ControlSession,
    account: Account,
    kind: CodeMail,
    *,
    now: datetime,
    settings: Settings,
    redirect_url: str | None,
) -> Mail | None:
    """A new code for `account`, replacing its previous one of the same purpose, and the
    mail that carries it; None (nothing sent) within a minute of the previous one."""
    assert account.email is not None
    code = secrets.token_urlsafe(32)
    ttl = timedelta(seconds=settings.mail_code_ttl)
    expires_at = now + ttl
    made = await repository.replace_code(
        session,
        account.id,
        kind.purpose,
        hash_secret(code),
        now=now,
        ttl=ttl,
        cooldown=CODE_COOLDOWN,
    )
    if not made:
        return None
    return _mail(account.email, code, expires_at, kind, settings, redirect_url)


def _mail(
    email: str,
    code: str,
    expires_at: datetime,
    kind: CodeMail,
    settings: Settings,
    redirect_url: str | None,
) -> Mail:
    expiry = expires_at.timestamp()
    lines = [
        f"Use this code to {kind.action}: {code}",
        f"It works once, until {expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
        f"(code_expiration_timestamp {expiry}).",
    ]
    link = _link(redirect_url, settings, email=email, code=code, expiry=expiry)
    if link is not None:
        lines.append(f"Or open: {link}")
    return Mail(to=email, subject=kind.subject, text="\n".join(lines))


def _link(
    url: str | None, settings: Settings, *, email: str, code: str, expiry: float
) -> str | None:
    """The redirect URL with the code, only to a host the operator listed: a link to any
    host that asks would hand the code to whoever sent the request."""
    if url is None:
        return None
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in settings.mail_redirect_hosts:
        return None
    params = urlencode({"email": email, "code": code, "code_expiration_timestamp": expiry})
    query = f"{parts.query}&{params}" if parts.query else params
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


async def individual_for_mail(session: ControlSession, email: str) -> Account | None:
    account = await repository.individual_by_email(session, email)
    return account if account is not None and account.kind == AccountKind.INDIVIDUAL else None


async def code_is_live(
    session: ControlSession, email: str, purpose: CodePurpose, code: str, now: datetime
) -> bool:
    return await repository.code_is_live(session, email, purpose, hash_secret(code), now)


async def set_password_with_code(
    session: ControlSession, email: str, code: str, password_hash: str, *, now: datetime
) -> set[str]:
    """Spend the code, set the password, end every login of the account (the families
    ended); the code came by mail, so the email is proven."""
    account_id = await repository.use_code(
        session, email, CodePurpose.RESET_PASSWORD, hash_secret(code), now
    )
    account = await session.get(Account, account_id) if account_id else None
    if account is None:
        raise InvalidCode
    account.password_hash = password_hash
    account.verified = True
    return await repository.end_logins(session, now, account_id=account.id)


async def verify_with_code(
    session: ControlSession, email: str, code: str, *, now: datetime
) -> Account:
    account_id = await repository.use_code(
        session, email, CodePurpose.VERIFY_EMAIL, hash_secret(code), now
    )
    account = await session.get(Account, account_id) if account_id else None
    if account is None:
        raise InvalidCode
    account.verified = True
    return account


async def send_code(
    engine: AsyncEngine,
    email: str,
    kind: CodeMail,
    *,
    now: datetime,
    settings: Settings,
    redirect_url: str | None,
) -> Mail | None:
    """For the anonymous routes: a code for the individual account of `email`, in a short
    transaction of its own; None when there is no such account (the answer is the same)."""
    async with detached_session(engine) as session:
        account = await individual_for_mail(session, email)
        if account is None or (kind is VERIFY_EMAIL and account.verified):
            return None
        return await mail_code(
            session, account, kind, now=now, settings=settings, redirect_url=redirect_url
        )


async def reset_password(
    engine: AsyncEngine, email: str, code: str, password: str, *, now: datetime, client: str
) -> set[str]:
    """The code is checked before the password is hashed (an unknown code costs no hash),
    and no connection is held while it is."""
    async with detached_session(engine) as session:
        live = await code_is_live(session, email, CodePurpose.RESET_PASSWORD, code, now)
    if not live:
        raise InvalidCode
    password_hash = await hash_password(password, client=client)
    async with detached_session(engine) as session:
        return await set_password_with_code(session, email, code, password_hash, now=now)


async def verify(engine: AsyncEngine, email: str, code: str, *, now: datetime) -> Account:
    async with detached_session(engine) as session:
        return await verify_with_code(session, email, code, now=now)
