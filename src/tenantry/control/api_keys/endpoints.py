"""API keys of the current database: shown once at creation, then only their prefix."""

from fastapi import Request

from tenantry.auth.connection import ControlDB
from tenantry.auth.context import AuthContext, RootOrManager, forget, token_service
from tenantry.control.api_keys import service
from tenantry.control.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead
from tenantry.kernel.versions import V1
from tenantry.models.control import ApiKey
from tenantry.routing import Router

router = Router(prefix=f"{V1}/api-keys", tags=["api keys"])


def _read(key: ApiKey, caller: AuthContext) -> ApiKeyRead:
    """A key as shown: with the mode of its database, the caller's current one."""
    livemode = caller.database is not None and caller.database.livemode
    return ApiKeyRead.model_validate(key).model_copy(update={"livemode": livemode})


@router.post("/", status_code=201)
async def create_api_key(
    body: ApiKeyCreate, caller: RootOrManager, session: ControlDB, request: Request
) -> ApiKeyCreated:
    """Create a key for the current database."""
    key, secret = await service.create(
        session,
        caller,
        name=body.name,
        role=body.role,
        expires_at=body.expires_at,
        now=token_service(request).clock(),
        owner_id=body.account_id,
    )
    return ApiKeyCreated(**_read(key, caller).model_dump(), key=secret)


@router.get("/")
async def list_api_keys(caller: RootOrManager, session: ControlDB) -> ApiKeyList:
    """List the current database's keys, never their secrets."""
    keys = await service.list_keys(session, caller)
    return ApiKeyList(api_keys=[_read(key, caller) for key in keys])


@router.delete("/{key_id}/", status_code=204)
async def revoke_api_key(
    key_id: str, caller: RootOrManager, session: ControlDB, request: Request
) -> None:
    """Revoke a key; requests with it get 401 from now on."""
    await service.revoke(session, caller, key_id, token_service(request).clock())
    if caller.database is not None:
        forget(request, caller.database.id)
