"""The organization's databases and accounts (root and managers), and the logged-in
account's own page: its API keys and the switch to another database. Every change goes
through the control services the API uses, with the same rules."""

from typing import Any, ClassVar

from sqladmin import BaseView, ModelView, expose
from sqlalchemy import Select, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from wtforms import Form, PasswordField, SelectField, StringField, validators

from tenantry.admin import sessions
from tenantry.admin.sessions import AdminIdentity, current_admin
from tenantry.audit import watch
from tenantry.auth.context import AuthContext
from tenantry.auth.passwords import MAX_LENGTH, MIN_LENGTH
from tenantry.auth.tokens import utcnow
from tenantry.control.accounts import service as accounts
from tenantry.control.api_keys import service as api_keys
from tenantry.control.databases import service as databases
from tenantry.db.sessions import ControlSession, detached_session
from tenantry.errors import TenantryError
from tenantry.kernel.enums import DatabaseStatus, Role
from tenantry.kernel.id_types import parse as parse_id_type
from tenantry.models.control import Account, AuditEvent, Database, TenantSchema

KEY_ROLES = [Role.FRONTEND, Role.BACKEND, Role.MANAGER, Role.ROOT]


def _admin() -> AdminIdentity:
    admin = current_admin()
    if admin is None:
        raise HTTPException(403)
    return admin


def forget(request: Request, tag: str) -> None:
    """Drop what this process caches of credentials built on `tag` (a database, an account),
    the change committed: a request that follows sees it at once, without waiting for the
    NOTIFY that tells the other processes."""
    request.app.state.tenantry.state.auth_cache.invalidate(tag)


def caller(admin: AdminIdentity) -> AuthContext:
    """The admin as the control services know a caller."""
    return AuthContext(
        org_id=admin.org_id, account_id=admin.account_id, role=admin.role, database=admin.database
    )


class OrganizationView(ModelView):
    """A control-plane table, only its rows of the logged-in account's organization."""

    plane: ClassVar[str] = "organization"
    category = "Organization"
    can_export = False

    def _of_org(self) -> Any:
        org_column: Any = self.model.org_id  # type: ignore[attr-defined]
        return org_column == _admin().org_id

    def list_query(self, request: Request) -> Select[Any]:
        return select(self.model).where(self._of_org())

    def _stmt_by_identifier(self, identifier: str) -> Select[Any]:
        return super()._stmt_by_identifier(identifier).where(self._of_org())


class DatabaseForm(Form):
    name = StringField("Name", [validators.InputRequired(), validators.Length(1, 200)])
    description = StringField("Description", [validators.Length(0, 10_000)])
    item_id_type = StringField("Item id type", default="uuid")
    user_id_type = StringField("User id type", default="uuid")


class DatabaseView(OrganizationView, model=Database):
    name = "Database"
    icon = "fa-solid fa-database"
    can_edit = False
    column_list = [Database.id, Database.name, Database.status, Database.schema_name]
    column_details_exclude_list = [Database.core_config, Database.extra]
    column_searchable_list = [Database.name]
    column_sortable_list = [Database.name, Database.created_at]
    form = DatabaseForm

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        admin = _admin()
        for field in ("item_id_type", "user_id_type"):
            try:
                parse_id_type(data[field] or "uuid")
            except ValueError as error:
                raise ValueError(f"{field}: {error}") from None
        async with self.session_maker(expire_on_commit=False) as session:
            database = await databases.create(
                ControlSession(session),
                org_id=admin.org_id,
                name=data["name"],
                description=data.get("description") or "",
                item_id_type=data["item_id_type"] or "uuid",
                user_id_type=data["user_id_type"] or "uuid",
            )
            await session.commit()
        return database

    async def delete_model(self, request: Request, pk: Any) -> None:
        admin = _admin()
        if pk == admin.database.id:
            raise ValueError("Switch to another database before deleting this one.")
        async with self.session_maker() as session:
            database = await session.scalar(self._stmt_by_identifier(pk))
            if database is None:
                raise HTTPException(404)
            await databases.delete(ControlSession(session), database)
            await session.commit()


class AccountForm(Form):
    email = StringField("Email", [validators.InputRequired(), validators.Email()])
    password = PasswordField(
        "Password", [validators.InputRequired(), validators.Length(MIN_LENGTH, MAX_LENGTH)]
    )
    role = SelectField(
        "Role",
        choices=[(role.value, role.value) for role in (Role.MANAGER, Role.BACKEND, Role.FRONTEND)],
    )


class AccountView(OrganizationView, model=Account):
    name = "Account"
    icon = "fa-solid fa-users"
    can_edit = False
    column_list = [Account.email, Account.service_name, Account.role, Account.created_at]
    column_details_list = [
        Account.id,
        Account.email,
        Account.service_name,
        Account.kind,
        Account.role,
        Account.created_at,
    ]
    column_searchable_list = [Account.email, Account.service_name]
    column_sortable_list = [Account.email, Account.role, Account.created_at]
    form = AccountForm

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        async with self.session_maker(expire_on_commit=False) as session:
            account = await accounts.create(
                ControlSession(session),
                caller(_admin()),
                role=Role(data["role"]),
                password=data["password"],
                email=data["email"].strip().lower(),
            )
            await session.commit()
        return account

    async def delete_model(self, request: Request, pk: Any) -> None:
        async with self.session_maker() as session:
            await accounts.delete(ControlSession(session), caller(_admin()), pk)
            await session.commit()
        forget(request, str(pk))


async def menu(request: Request) -> dict[str, Any]:
    """What the account's dropdown shows: its keys (root and managers) and the databases
    it may switch to."""
    admin = current_admin()
    if admin is None:
        return {}
    engine = request.app.state.tenantry.state.engine
    async with detached_session(engine) as session:
        keys = await api_keys.list_keys(session, caller(admin)) if admin.manages else []
        ready = await session.execute(
            select(Database.id, Database.name)
            .join(TenantSchema, TenantSchema.name == Database.schema_name)
            .where(Database.org_id == admin.org_id, Database.status == DatabaseStatus.READY)
            .order_by(Database.name)
        )
        others = [row for row in ready.all() if row.id != admin.database.id]
    shown = [key for key in keys if key.revoked_at is None]
    roles = [role for role in KEY_ROLES if KEY_ROLES.index(role) <= KEY_ROLES.index(admin.role)]
    return {"keys": shown, "databases": others, "key_roles": roles}


class AccountPages(BaseView):
    """The dropdown's actions: API keys of the current database, switching databases."""

    name = "Account"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/api-keys/new", methods=["POST"], identity="api-key-create")
    async def create_key(self, request: Request) -> Response:
        admin = _admin()
        if not admin.manages:
            raise HTTPException(403, "Only root and managers manage API keys.")
        form = await request.form()
        name = str(form.get("name", "")).strip()[:200] or "admin"
        try:
            role = Role(str(form.get("role", Role.BACKEND)))
        except ValueError as error:
            raise HTTPException(400, "Unknown role.") from error
        async with detached_session(request.app.state.tenantry.state.engine) as session:
            if request.app.state.tenantry.state.settings.audit:
                watch(session, admin.actor)
            try:
                key, secret = await api_keys.create(
                    session, caller(admin), name=name, role=role, expires_at=None, now=utcnow()
                )
            except TenantryError as error:
                raise HTTPException(error.status, error.detail) from error
        response = await self.templates.TemplateResponse(
            request, "tenantry/api_key_created.html", {"key": key, "secret": secret}
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/api-keys/revoke", methods=["POST"], identity="api-key-revoke")
    async def revoke_key(self, request: Request) -> Response:
        admin = _admin()
        if not admin.manages:
            raise HTTPException(403, "Only root and managers manage API keys.")
        key_id = str((await request.form()).get("key_id", ""))
        async with detached_session(request.app.state.tenantry.state.engine) as session:
            if request.app.state.tenantry.state.settings.audit:
                watch(session, admin.actor)
            try:
                await api_keys.revoke(session, caller(admin), key_id[:64], utcnow())
            except TenantryError as error:
                raise HTTPException(error.status, error.detail) from error
        forget(request, admin.database.id)
        return RedirectResponse(request.url_for("admin:index"), status_code=302)

    @expose("/switch", methods=["POST"], identity="switch-database")
    async def switch_database(self, request: Request) -> Response:
        admin = _admin()
        database_id = str((await request.form()).get("database_id", ""))[:64]
        async with detached_session(request.app.state.tenantry.state.engine) as session:
            row = (
                await session.execute(
                    select(Database, TenantSchema.version)
                    .outerjoin(TenantSchema, TenantSchema.name == Database.schema_name)
                    .where(Database.id == database_id, Database.org_id == admin.org_id)
                )
            ).one_or_none()
            if row is None or not sessions.ready(*row):
                raise HTTPException(404, "No ready database of your organization has this id.")
            await sessions.switch(session, admin.token_hash, database_id)
        return RedirectResponse(request.url_for("admin:index"), status_code=302)


class AuditView(OrganizationView, model=AuditEvent):
    """The organization's audit trail, read-only: newest first."""

    name = "Audit event"
    name_plural = "Audit trail"
    icon = "fa-solid fa-clipboard-list"
    can_create = False
    can_edit = False
    can_delete = False
    column_list = [
        AuditEvent.created_at,
        AuditEvent.action,
        AuditEvent.actor_account_id,
        AuditEvent.actor_api_key_id,
        AuditEvent.channel,
        AuditEvent.address,
        AuditEvent.target_id,
    ]
    column_details_list = [
        AuditEvent.id,
        AuditEvent.created_at,
        AuditEvent.action,
        AuditEvent.actor_account_id,
        AuditEvent.actor_api_key_id,
        AuditEvent.channel,
        AuditEvent.address,
        AuditEvent.target_type,
        AuditEvent.target_id,
        AuditEvent.database_id,
        AuditEvent.before,
        AuditEvent.after,
    ]
    column_searchable_list = [AuditEvent.action]
    column_sortable_list = [AuditEvent.created_at, AuditEvent.action]
    column_default_sort = [(AuditEvent.id, True)]


ORGANIZATION_VIEWS: list[type[ModelView]] = [DatabaseView, AccountView, AuditView]
