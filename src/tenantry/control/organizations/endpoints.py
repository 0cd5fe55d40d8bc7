"""The caller's organization: its metadata, and its accounts as the Crossing Minds client
lists them (people and service accounts apart, with the service accounts' keys)."""

from fastapi import Request

from tenantry.auth.connection import ControlDB
from tenantry.auth.context import AnyRole, RootOrManager, token_service
from tenantry.control.accounts import service as accounts
from tenantry.control.accounts.schemas import key_read
from tenantry.control.organizations import service
from tenantry.control.organizations.schemas import (
    IndividualAccountItem,
    OrganizationAccounts,
    OrganizationPreview,
    OrganizationRead,
    OrganizationUpdate,
    ServiceAccountItem,
)
from tenantry.kernel.versions import V1
from tenantry.models.control import AccountKind, Organization
from tenantry.routing import Router

router = Router(prefix=f"{V1}/organizations", tags=["organizations"])


def _read(organization: Organization) -> OrganizationRead:
    return OrganizationRead(id=organization.id, name=organization.name, metadata=organization.extra)


@router.get("/accounts/")
async def list_organization_accounts(
    caller: RootOrManager, session: ControlDB, request: Request
) -> OrganizationAccounts:
    """List the organization's people and service accounts (with their keys)."""
    now = token_service(request).clock()
    rows = await accounts.list_accounts(session, caller)
    keys = await accounts.keys_by_account(session, rows)
    return OrganizationAccounts(
        individual_accounts=[
            IndividualAccountItem(
                id=a.id,
                first_name=a.first_name,
                last_name=a.last_name,
                email=a.email or "",
                role=a.role,
                verified=a.verified,
                metadata=a.extra,
            )
            for a in rows
            if a.kind == AccountKind.INDIVIDUAL
        ],
        service_accounts=[
            ServiceAccountItem(
                id=a.id,
                name=a.service_name or "",
                role=a.role,
                metadata=a.extra,
                keys=[key_read(key, now) for key in keys[a.id]],
            )
            for a in rows
            if a.kind == AccountKind.SERVICE
        ],
    )


router.add_api_route(
    "/current/accounts/",
    list_organization_accounts,
    methods=["GET"],
    name="list_current_organization_accounts",
    summary="List the organization's accounts (the reference's path).",
)


@router.get("/current/")
async def get_organization(caller: AnyRole, session: ControlDB) -> OrganizationRead:
    """The caller's organization and its metadata."""
    return _read(await service.current(session, caller))


@router.patch("/current/")
async def update_organization(
    body: OrganizationUpdate, caller: RootOrManager, session: ControlDB
) -> OrganizationRead:
    """Merge metadata into the organization's (RFC 7396; `preserve` appends to lists)."""
    organization = await service.update(
        session, caller, metadata=body.metadata, preserve=body.preserve
    )
    return _read(organization)


@router.patch("/current/preview/")
async def preview_organization_update(
    body: OrganizationUpdate, caller: RootOrManager, session: ControlDB
) -> OrganizationPreview:
    """What the same PATCH of `current/` would make of the metadata; changes nothing."""
    old, new = await service.preview(
        session, caller, metadata=body.metadata, preserve=body.preserve
    )
    return OrganizationPreview(metadata_old=old, metadata_new=new)
