"""Logging in and out of the admin panel, and what each role may do there.

The login checks credentials with the control auth service, as `POST
/v1/login/individual/` does (failed logins throttled alike), then picks the database
named in the form (its id or its name in the account's organization). Every failure —
email, password or database — gives one generic error.
"""

from typing import Any

from fastapi import FastAPI
from sqladmin.authentication import AuthenticationBackend
from sqladmin.authorization import Action, AuthorizationBackend
from sqladmin.templating import Jinja2Templates
from sqlalchemy import func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tenantry.admin import sessions
from tenantry.admin.middleware import LOGIN_COOKIE
from tenantry.admin.sessions import AdminIdentity, current_admin
from tenantry.auth.errors import InvalidCredentials, LoginThrottled
from tenantry.auth.passwords import MAX_LENGTH
from tenantry.auth.tokens import utcnow
from tenantry.config import Settings
from tenantry.control.auth import repository
from tenantry.control.auth.service import AuthService
from tenantry.control.auth.throttle import client_address
from tenantry.db.sessions import ControlSession, detached_session
from tenantry.models.control import Database, TenantSchema

REFUSED = "Invalid credentials."  # whatever was wrong: email, password or database
READ_ACTIONS = frozenset({Action.LIST, Action.DETAILS})
WRITE_ACTIONS = frozenset({Action.CREATE, Action.EDIT, Action.DELETE})


class AdminAuth(AuthenticationBackend):
    """SQLAdmin's authentication, on our server-side sessions (no signed-cookie session)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.middlewares = []  # the session layer is `AdminSessionMiddleware`
        self.templates: Jinja2Templates | None = None

    @property
    def settings(self) -> Settings:
        settings: Settings = self.app.state.settings
        return settings

    async def login(self, request: Request) -> Response | bool:
        form = await request.form()
        email = str(form.get("email", "")).strip().lower()
        password = str(form.get("password", ""))
        client = str(form.get("client", "")).strip()
        if not email or not password or len(email) > 320 or len(password) > MAX_LENGTH:
            return await self._refuse(request, REFUSED)
        state = self.app.state
        service = AuthService(
            state.tokens, self.settings, state.engine, state.frontend_login, channel="admin"
        )
        try:
            login = await service.login_individual(
                email=email,
                password=password,
                address=client_address(request),
                db_id=None,
                db_name=None,
            )
        except InvalidCredentials:
            return await self._refuse(request, REFUSED)
        except LoginThrottled as error:
            raise HTTPException(429, error.detail) from error
        async with detached_session(state.engine) as session:
            claims = state.tokens.decode(login.token, "access")
            await service.logout(session, family_id=claims.family_id)  # no token is kept
            database = await _pick_database(session, claims.org_id, client)
            if database is None:
                return await self._refuse(request, REFUSED)
            version = await session.scalar(
                select(TenantSchema.version).where(TenantSchema.name == database.schema_name)
            )
            if not sessions.ready(database, version):
                return await self._refuse(
                    request, f"The database {database.name} is {database.status}: retry soon."
                )
            token = await sessions.start(
                session,
                account_id=claims.account_id,
                database_id=database.id,
                now=utcnow(),
                idle=self.settings.admin_session_idle,
            )
        response = RedirectResponse(request.url_for("admin:index"), status_code=302)
        sessions.set_cookie(response, request, self.settings, token)
        response.delete_cookie(LOGIN_COOKIE, path=login_cookie_path(request))
        return response

    async def _refuse(self, request: Request, message: str) -> Response:
        """The form again, with the error and what was typed but the password."""
        assert self.templates is not None
        form = await request.form()
        typed = {name: str(form.get(name, ""))[:320] for name in ("client", "email")}
        return await self.templates.TemplateResponse(
            request, "sqladmin/login.html", {"error": message, **typed}, status_code=400
        )

    async def logout(self, request: Request) -> Response | bool:
        admin = current_admin()
        if admin is not None:
            async with detached_session(self.app.state.engine) as session:
                await sessions.end(session, admin.token_hash)
        response = RedirectResponse(request.url_for("admin:login"), status_code=302)
        sessions.clear_cookie(response)
        return response

    async def authenticate(self, request: Request) -> Response | bool:
        return current_admin() is not None

    async def get_user_id(self, request: Request) -> Any:
        admin = current_admin()
        return admin.account_id if admin is not None else None


def login_cookie_path(request: Request) -> str:
    return request.url_for("admin:login").path


async def _pick_database(session: ControlSession, org_id: str, client: str) -> Database | None:
    """The database named `client` (id, else name) in the organization; with no name, the
    organization's only database."""
    if not client:
        count = await session.scalar(
            select(func.count()).select_from(Database).where(Database.org_id == org_id)
        )
        if count != 1:
            return None
        return await session.scalar(select(Database).where(Database.org_id == org_id))
    if len(client) > 200:
        return None
    found = await repository.database_of_org(session, org_id, db_id=client, db_name=None)
    return found or await repository.database_of_org(session, org_id, db_id=None, db_name=client)


class RoleMatrix(AuthorizationBackend):
    """The API's role matrix (docs/auth.md), per view: a database's data is read by every
    role and written by all but `frontend`; the organization's databases, accounts and keys
    are managed by root and managers; the template only by operators."""

    def has_permission(
        self, request: Request, identity: str, action: str, obj: Any | None = None
    ) -> bool:
        admin = current_admin()
        if admin is None:
            return False
        plane = PLANES.get(identity, "account")
        return allowed(admin, plane, action)


PLANES: dict[str, str] = {}
"""Each view's identity -> its plane: `data`, `template`, `organization`; others are the
logged-in account's own pages."""


def allowed(admin: AdminIdentity, plane: str, action: str) -> bool:
    if plane == "template":
        return admin.is_operator and action in READ_ACTIONS | WRITE_ACTIONS
    if plane == "organization":
        return admin.manages and action in READ_ACTIONS | WRITE_ACTIONS
    if plane == "data":
        return action in READ_ACTIONS or (action in WRITE_ACTIONS and admin.writes_data)
    return action == Action.LIST
