"""Accounts of the caller's organization: root and managers only."""

from fastapi import Request

from tenantry.auth.connection import ControlDB
from tenantry.auth.context import RootOrManager, forget
from tenantry.control.accounts import service
from tenantry.control.accounts.schemas import (
    AccountList,
    AccountRead,
    AccountUpdate,
    IndividualCreate,
    ServiceCreate,
)
from tenantry.kernel.versions import V1
from tenantry.routing import Router

router = Router(prefix=f"{V1}/accounts", tags=["accounts"])


@router.get("/")
async def list_accounts(caller: RootOrManager, session: ControlDB) -> AccountList:
    """List the organization's accounts."""
    accounts = await service.list_accounts(session, caller)
    return AccountList(accounts=[AccountRead.model_validate(a) for a in accounts])


@router.post("/individual/", status_code=201)
async def create_individual_account(
    body: IndividualCreate, caller: RootOrManager, session: ControlDB
) -> AccountRead:
    """Create an account for a person, with a role."""
    account = await service.create(
        session, caller, role=body.role, password=body.password, email=body.email.lower()
    )
    return AccountRead.model_validate(account)


@router.post("/service/", status_code=201)
async def create_service_account(
    body: ServiceCreate, caller: RootOrManager, session: ControlDB
) -> AccountRead:
    """Create a service account, which logs in with its name and password."""
    account = await service.create(
        session, caller, role=body.role, password=body.password, service_name=body.name
    )
    return AccountRead.model_validate(account)


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
    await service.delete(session, caller, account_id)
    forget(request, account_id)
