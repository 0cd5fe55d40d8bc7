"""The admin panel at /admin (SQLAdmin): a page per data-plane table of the logged-in
database, the organization's databases and accounts, API keys, and the template for
operators. See docs/admin.md."""

import io
import re
import secrets
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI
from sqladmin import Admin, ModelView
from sqladmin._menu import CategoryMenu, ViewMenu
from sqladmin.authentication import login_required
from sqladmin.models import BaseView
from starlette.datastructures import URL, FormData, UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tenantry.admin import auth, home, organization, views
from tenantry.admin.binding import BoundSessions, ControlSessions, TemplateSessions
from tenantry.admin.middleware import CSRF_FIELD, LOGIN_COOKIE, AdminSessionMiddleware
from tenantry.admin.sessions import current_admin

BASE_URL = "/admin"
TEMPLATES = Path(__file__).parent / "templates"
UPLOAD_PATH = re.compile(r"/admin/(template-)?space/(create|edit/[^/]+)")  # takes images


class Category(CategoryMenu):
    """A menu category shown only when one of its pages is open to the account."""

    def is_accessible(self, request: Request) -> bool:
        return any(child.is_accessible(request) for child in self.children)


class TenantryAdmin(Admin):
    def __init__(self, app: FastAPI) -> None:
        self.sessions = BoundSessions(app)
        self.template_sessions = TemplateSessions(app)
        self.control_sessions = ControlSessions(app)
        self.authentication = auth.AdminAuth(app)
        super().__init__(
            app,
            session_maker=self.sessions,  # type: ignore[arg-type]
            base_url=BASE_URL,
            title="Tenantry admin",
            templates_dir=str(TEMPLATES),
            middlewares=[Middleware(AdminSessionMiddleware, tenantry=app)],
            authentication_backend=self.authentication,
            authorization_backend=auth.RoleMatrix(),
        )
        self.authentication.templates = self.templates
        self.admin.state.tenantry = app
        globals_ = self.templates.env.globals
        globals_["url_for"] = path_for
        globals_["current_admin"] = current_admin
        globals_["admin_menu"] = organization.menu
        globals_["csrf_field"] = CSRF_FIELD

    def add_model_view(self, view: type[ModelView]) -> None:
        super().add_model_view(view)
        plane = getattr(view, "plane", "data")
        auth.PLANES[view.identity] = plane
        if plane == "template":
            view.session_maker = self.template_sessions  # type: ignore[assignment]
        elif plane == "organization":
            view.session_maker = self.control_sessions  # type: ignore[assignment]

    def _build_menu(self, view: ModelView | BaseView) -> None:
        if not view.category:
            super()._build_menu(view)
            return
        category = Category(name=view.category, icon=view.category_icon)
        category.add_child(ViewMenu(view=view, name=view.name, icon=view.icon))
        self._menu.add(category)

    async def login(self, request: Request) -> Response:
        if request.method != "GET":
            return await super().login(request)
        if current_admin() is not None:
            return RedirectResponse(request.url_for("admin:index"), status_code=302)
        nonce = secrets.token_urlsafe(32)
        response = await self.templates.TemplateResponse(
            request, "sqladmin/login.html", {"login_csrf": nonce}
        )
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            path=auth.login_cookie_path(request),
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    @login_required
    async def index(self, request: Request) -> Response:
        """The home page: the logged-in database at a glance."""
        data_views = [
            view for view in self.views if isinstance(view, views.DataView) and view.plane == "data"
        ]
        page = await home.context(request, self.sessions, data_views)
        return await self.templates.TemplateResponse(request, "tenantry/home.html", page)

    @staticmethod
    async def _handle_form_data(request: Request, obj: Any = None) -> FormData:
        """SQLAdmin's, for uploads that are not columns (a space's background): an empty
        one stays empty instead of being read back from the row."""
        form = await request.form()
        items: list[tuple[str, str | UploadFile]] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile) and not await value.read(1):
                value = UploadFile(io.BytesIO(b""), filename=value.filename)
            elif isinstance(value, UploadFile):
                await value.seek(0)
            items.append((key, value))
        return FormData(items)


@jinja2.pass_context
def path_for(context: dict[str, Any], name: str, /, **path_params: Any) -> URL:
    """The templates' `url_for`, as a path: a page (the login form's action first) never
    names the host that the request's Host header claims."""
    request: Request = context["request"]
    return URL(request.url_for(name, **path_params).path)


def add_admin(app: FastAPI) -> TenantryAdmin:
    """Mount the admin panel at /admin."""
    admin = TenantryAdmin(app)
    all_views: list[type[ModelView] | type[BaseView]] = [
        *views.DATA_VIEWS,
        *organization.ORGANIZATION_VIEWS,
        *views.TEMPLATE_VIEWS,
        organization.AccountPages,
    ]
    for view in all_views:
        admin.add_view(view)

    @app.get(BASE_URL, include_in_schema=False)
    async def admin_root() -> RedirectResponse:
        return RedirectResponse(f"{BASE_URL}/", status_code=307)

    return admin
