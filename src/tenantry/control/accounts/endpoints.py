"""Accounts of the caller's organization, their service accounts' keys, and the codes mailed
to accounts (set or reset a password, verify an email).

The routes named by a word (`individual/`, `service/`, …) are declared before those of an
account's id, so that a word is never taken for an id."""

from datetime import UTC, datetime
from typing import Any

from fastapi import Query, Request

from tenantry.auth.connection import ControlDB
from tenantry.auth.context import AnyRole, RootOrManager, auth_cache, forget, token_service
from tenantry.control.accounts import service
from tenantry.control.accounts.schemas import (
    AccountList,
    AccountRead,
    AccountUpdate,
    Code,
    Email,
    IndividualCreate,
    IndividualRef,
    IndividualUpdate,
    PasswordReset,
    ResetPasswordEmail,
    ServiceCreate,
    ServiceKeyCreate,
    ServiceKeyCreated,
    ServiceRef,
    ServiceUpdate,
    VerificationResend,
    Verified,
    key_read,
)
from tenantry.control.auth.throttle import AuthTurn, client_address
from tenantry.control.mail.sender import Mail, MailSender, send_soon
from tenantry.db.sessions import after_commit
from tenantry.kernel.versions import V1
from tenantry.routing import Router

router = Router(prefix=f"{V1}/accounts", tags=["accounts"])


def named_in_body() -> dict[int | str, dict[str, Any]]:
    """The answers of a route that names an account in its body, not its path: no such
    account is a 404 too (a new dict each: the OpenAPI layer adds to it per route)."""
    return {404: {"description": "No account of the organization has this email or name."}}


def _now(request: Request) -> datetime:
    return token_service(request).clock()


def _send(request: Request, mail: Mail | None, *, committed: bool = False) -> None:
    """Send `mail` once what it names is committed: now, or after the request's commit."""
    if mail is None:
        return
    sender: MailSender = request.app.state.mail_sender
    if committed:
        send_soon(sender, mail)
    else:
        after_commit(request, lambda: send_soon(sender, mail))


def _end_logins(request: Request, families: set[str], *, committed: bool = False) -> None:
    """This process refuses the ended logins' access tokens at once; others as the notice
    arrives (as `POST /v1/logout/` does)."""

    def end() -> None:
        for family in families:
            auth_cache(request).end_login(family)

    if committed:
        end()
    elif families:
        after_commit(request, end)


@router.get("/")
async def list_accounts(caller: RootOrManager, session: ControlDB) -> AccountList:
    """List the organization's accounts."""
    accounts = await service.list_accounts(session, caller)
    return AccountList(accounts=[AccountRead.model_validate(a) for a in accounts])


@router.post("/individual/", status_code=201)
async def create_individual_account(
    body: IndividualCreate, caller: RootOrManager, session: ControlDB, request: Request
) -> AccountRead:
    """Create an account for a person; without a password, a code to set it is mailed."""
    account = await service.create(
        session,
        caller,
        role=body.role,
        password=body.password,
        email=body.email.lower(),
        first_name=body.first_name,
        last_name=body.last_name,
        metadata=body.metadata,
    )
    kind = service.VERIFY_EMAIL if body.password is not None else service.SET_PASSWORD
    redirect = str(body.email_redirect_url) if body.email_redirect_url else None
    settings = request.app.state.settings
    mail = await service.mail_code(
        session, account, kind, now=_now(request), settings=settings, redirect_url=redirect
    )
    _send(request, mail)
    return AccountRead.model_validate(account)


@router.patch("/individual/", responses=named_in_body())
async def update_individual_account(
    body: IndividualUpdate, caller: AnyRole, session: ControlDB, request: Request
) -> AccountRead:
    """Change a person's password, names, metadata or role (the account named by email)."""
    account = await service.by_email(session, caller, body.email.lower())
    updated, ended = await service.update(
        session,
        caller,
        account,
        now=_now(request),
        **body.model_dump(exclude={"email"}, exclude_none=True),
    )
    forget(request, account.id)
    _end_logins(request, ended)
    return AccountRead.model_validate(updated)


@router.delete("/individual/", status_code=204, responses=named_in_body())
async def delete_individual_account(
    body: IndividualRef, caller: RootOrManager, session: ControlDB, request: Request
) -> None:
    """Delete a person's account (named by email) and its logins."""
    account = await service.by_email(session, caller, body.email.lower())
    await service.delete(session, caller, account)
    forget(request, account.id)


@router.post("/individual/send-reset-password-email/", status_code=204, dependencies=[AuthTurn])
async def send_reset_password_email(body: ResetPasswordEmail, request: Request) -> None:
    """Mail a code to reset the password; the answer is the same whether the email has an
    account or not."""
    mail = await service.send_code(
        request.app.state.engine,
        body.email.lower(),
        service.RESET_PASSWORD,
        now=_now(request),
        settings=request.app.state.settings,
        redirect_url=str(body.email_redirect_url) if body.email_redirect_url else None,
    )
    _send(request, mail, committed=True)


@router.post("/individual/reset/", status_code=204, dependencies=[AuthTurn])
async def set_or_reset_password(body: PasswordReset, request: Request) -> None:
    """Set a new password with a mailed code; it works once, and ends every login."""
    ended = await service.reset_password(
        request.app.state.engine,
        body.email.lower(),
        body.code,
        body.new_password,
        now=_now(request),
        client=client_address(request),
    )
    _end_logins(request, ended, committed=True)


@router.put("/resend-verification-code/", status_code=204, dependencies=[AuthTurn])
async def resend_verification_code(body: VerificationResend, request: Request) -> None:
    """Mail a new code to verify the email (none if it is verified already)."""
    mail = await service.send_code(
        request.app.state.engine,
        body.email.lower(),
        service.VERIFY_EMAIL,
        now=_now(request),
        settings=request.app.state.settings,
        redirect_url=None,
    )
    _send(request, mail, committed=True)


@router.get("/verify/", dependencies=[AuthTurn])
async def verify_account(
    request: Request, code: Code = Query(), email: Email = Query()
) -> Verified:
    """Prove an account's email with the code mailed to it."""
    account = await service.verify(request.app.state.engine, email.lower(), code, now=_now(request))
    return Verified(verified=account.verified, email=account.email or "")


@router.post("/service/", status_code=201)
async def create_service_account(
    body: ServiceCreate, caller: RootOrManager, session: ControlDB
) -> AccountRead:
    """Create a service account; it logs in with its name and a key (or its password)."""
    account = await service.create(
        session,
        caller,
        role=body.role,
        password=body.password,
        service_name=body.name,
        metadata=body.metadata,
    )
    return AccountRead.model_validate(account)


@router.patch("/service/", responses=named_in_body())
async def update_service_account(
    body: ServiceUpdate, caller: AnyRole, session: ControlDB, request: Request
) -> AccountRead:
    """Change a service account's password, metadata or role (named by its name)."""
    account = await service.by_service_name(session, caller, body.name)
    updated, ended = await service.update(
        session,
        caller,
        account,
        now=_now(request),
        **body.model_dump(exclude={"name"}, exclude_none=True),
    )
    forget(request, account.id)
    _end_logins(request, ended)
    return AccountRead.model_validate(updated)


@router.delete("/service/", status_code=204, responses=named_in_body())
async def delete_service_account(
    body: ServiceRef, caller: RootOrManager, session: ControlDB, request: Request
) -> None:
    """Delete a service account (named by its name), its keys and its logins."""
    account = await service.by_service_name(session, caller, body.name)
    await service.delete(session, caller, account)
    forget(request, account.id)


@router.post("/service/keys/", status_code=201, responses=named_in_body())
async def create_service_account_key(
    body: ServiceKeyCreate, caller: RootOrManager, session: ControlDB, request: Request
) -> ServiceKeyCreated:
    """Make a key a service account logs in with (`POST /v1/login/service/`, as password)."""
    now = _now(request)
    expires_at = (
        datetime.fromtimestamp(body.expiration_timestamp, UTC)
        if body.expiration_timestamp is not None
        else None
    )
    key, secret = await service.create_key(
        session, caller, name=body.name, expires_at=expires_at, metadata=body.metadata, now=now
    )
    read = key_read(key, now)
    return ServiceKeyCreated(
        **read.model_dump(), key=secret, expire_timestamp=read.expiration_timestamp
    )


@router.delete("/service/keys/{key_id}/", status_code=204)
async def delete_service_account_key(
    key_id: str, caller: RootOrManager, session: ControlDB, request: Request
) -> None:
    """Delete a service account's key: it logs in no more, and its logins end."""
    _end_logins(request, await service.delete_key(session, caller, key_id, now=_now(request)))


@router.patch("/{account_id}/")
async def update_account(
    account_id: str,
    body: AccountUpdate,
    caller: RootOrManager,
    session: ControlDB,
    request: Request,
) -> AccountRead:
    """Change an account's role."""
    account = await service.change_role(session, caller, account_id, body.role)
    forget(request, account_id)
    return AccountRead.model_validate(account)


@router.delete("/{account_id}/", status_code=204)
async def delete_account(
    account_id: str, caller: RootOrManager, session: ControlDB, request: Request
) -> None:
    """Delete an account and its logins."""
    await service.delete_by_id(session, caller, account_id)
    forget(request, account_id)
