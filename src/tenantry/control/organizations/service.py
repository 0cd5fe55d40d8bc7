"""The caller's organization: its metadata and the accounts it holds."""

from typing import Any

from tenantry.auth.context import AuthContext
from tenantry.control.databases.service import merge_patch
from tenantry.db.sessions import ControlSession
from tenantry.models.control import Organization


async def current(
    session: ControlSession, caller: AuthContext, *, lock: bool = False
) -> Organization:
    assert caller.org_id is not None  # every role belongs to an organization
    organization = await session.get(Organization, caller.org_id, with_for_update=lock)
    assert organization is not None  # accounts and keys die with their organization
    return organization


async def update(
    session: ControlSession, caller: AuthContext, *, metadata: dict[str, Any], preserve: bool
) -> Organization:
    """Merge `metadata` into the organization's (RFC 7396)."""
    organization = await current(session, caller, lock=True)
    organization.extra = merge_patch(organization.extra, metadata, preserve=preserve)
    await session.flush()
    return organization


async def preview(
    session: ControlSession, caller: AuthContext, *, metadata: dict[str, Any], preserve: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What `update` would make of the metadata, changing nothing."""
    organization = await current(session, caller)
    return organization.extra, merge_patch(organization.extra, metadata, preserve=preserve)
