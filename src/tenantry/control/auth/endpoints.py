"""Registration, login, refresh, logout, and who the caller is."""

from typing import Annotated, Any

from fastapi import Depends, Request

from tenantry.auth.connection import ControlDB
from tenantry.auth.context import Caller, auth_cache, bearer_scheme, token_service
from tenantry.auth.errors import AuthenticationRequired, InvalidCredentials
from tenantry.auth.tokens import InvalidToken
from tenantry.control.auth.schemas import (
    FrontendIds,
    IndividualLogin,
    JwtAccount,
    JwtDatabase,
    JwtLogin,
    LoginResponse,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    RootLogin,
    ServiceLogin,
    WhoAmI,
)
from tenantry.control.auth.service import AuthService, Frontend
from tenantry.control.auth.throttle import (
    THROTTLED,
    AuthTurn,
    RegistrationThrottle,
    client_address,
)
from tenantry.db.sessions import after_commit
from tenantry.kernel.versions import V1
from tenantry.routing import Router

router = Router(prefix=V1, tags=["auth"])


async def auth_service(request: Request) -> AuthService:
    state = request.app.state
    return AuthService(token_service(request), state.settings, state.engine, state.frontend_login)


Service = Annotated[AuthService, Depends(auth_service)]

REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Wrong credentials, or a spent or expired refresh token."}
}
LOGIN_REFUSED: dict[int | str, dict[str, Any]] = {
    **REFUSED,
    429: {"description": "Too many failed logins lately (`LOGIN_THROTTLED`); see Retry-After."},
}


@router.post(
    "/register/",
    status_code=201,
    dependencies=[RegistrationThrottle, AuthTurn],
    responses=THROTTLED,
)
async def register(body: RegisterRequest, request: Request, service: Service) -> RegisterResponse:
    """Create an organization, its root account, its first database and API key."""
    registered = await service.register(
        address=client_address(request),
        email=body.email.lower(),
        password=body.password,
        organization_name=body.organization_name,
    )
    return RegisterResponse(
        **registered.login.model_dump(),
        account_id=registered.account_id,
        api_key=registered.api_key,
    )


@router.post("/login/individual/", dependencies=[AuthTurn], responses=LOGIN_REFUSED)
async def login_individual(
    body: IndividualLogin, request: Request, service: Service
) -> LoginResponse:
    """Log in with email and password, optionally to one database."""
    return await service.login_individual(
        email=body.email.lower(),
        password=body.password,
        address=client_address(request),
        db_id=body.db_id,
        db_name=body.db_name,
        frontend=_frontend(body),
    )


def _frontend(body: FrontendIds) -> Frontend:
    return Frontend(user_id=body.frontend_user_id, session_id=body.frontend_session_id)


@router.post("/login/root/", dependencies=[AuthTurn], responses=LOGIN_REFUSED)
async def login_root(body: RootLogin, request: Request, service: Service) -> LoginResponse:
    """Log in with email and password to no database (the deprecated form of
    `login/individual/` without `db_id`); any person's account, not only the root."""
    return await service.login_individual(
        email=body.email.lower(),
        password=body.password,
        address=client_address(request),
        db_id=None,
        db_name=None,
    )


@router.post("/login/service/", dependencies=[AuthTurn], responses=LOGIN_REFUSED)
async def login_service(body: ServiceLogin, request: Request, service: Service) -> LoginResponse:
    """Log in as a service account, with its password or one of its keys."""
    return await service.login_service(
        name=body.name,
        password=body.password,
        address=client_address(request),
        db_id=body.db_id,
        db_name=body.db_name,
        frontend=_frontend(body),
    )


@router.post("/login/jwt/", response_model_exclude_none=True)
async def login_jwt(caller: Caller, request: Request) -> JwtLogin:
    """What the access token stands for: organization, account, database, frontend ids."""
    credentials = await bearer_scheme(request)
    if caller.account_id is None or caller.org_id is None or caller.role is None:
        raise AuthenticationRequired("Send the access token of a login.")
    try:
        claims = token_service(request).decode(credentials.credentials, "access")  # type: ignore[union-attr]
    except (InvalidToken, AttributeError) as error:
        raise InvalidCredentials from error
    database = caller.database if claims.database_id is not None else None
    return JwtLogin(
        org_id=caller.org_id,
        account=JwtAccount(id=caller.account_id, role=caller.role),
        database=JwtDatabase.model_validate(database, from_attributes=True) if database else None,
        frontend_user_id=caller.frontend_user_id,
        frontend_session_id=caller.frontend_session_id,
    )


@router.post("/login/refresh-token/", dependencies=[AuthTurn], responses=REFUSED)
async def refresh_token(body: RefreshRequest, service: Service) -> LoginResponse:
    """Trade a refresh token for a new pair; each refresh token works once."""
    return await service.refresh(
        refresh_token=body.refresh_token, db_id=body.db_id, db_name=body.db_name
    )


@router.post("/logout/", status_code=204)
async def logout(caller: Caller, request: Request, session: ControlDB, service: Service) -> None:
    """End this login: its refresh tokens and its access tokens, in every process."""
    credentials = await bearer_scheme(request)
    if caller.account_id is None or credentials is None:
        raise AuthenticationRequired("Log out with the access token of a login.")
    try:
        claims = token_service(request).decode(credentials.credentials, "access")
    except InvalidToken as error:
        raise InvalidCredentials from error
    await service.logout(session, family_id=claims.family_id)
    after_commit(request, lambda: auth_cache(request).end_login(claims.family_id))


@router.get("/whoami/")
async def whoami(caller: Caller) -> WhoAmI:
    """The organization, account or key, role and database of the caller."""
    return WhoAmI(
        org_id=caller.org_id,
        account_id=caller.account_id,
        api_key_id=caller.api_key_id,
        role=caller.role,
        database_id=caller.database.id if caller.database else None,
    )
