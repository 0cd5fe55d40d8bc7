"""A page per data-plane table of the logged-in database, and the operators' copies bound
to the template. Writes are checked as the API checks them: the API's request schemas
validate every create and edit, spaces are written by the spaces service (the image
checked by the same code), and the counters follow the triggers in the database."""

import asyncio
import time
import types
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, cast

from markupsafe import Markup, escape
from pydantic import BaseModel, ValidationError
from sqladmin import ModelView, expose
from sqlalchemy import ClauseElement, Select
from sqlalchemy.exc import IntegrityError, StatementError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from wtforms import FileField, FloatField, Form
from wtforms.validators import Optional

from tenantry.admin import ids
from tenantry.admin.sessions import current_admin
from tenantry.config import Settings
from tenantry.data.catalog import service as catalog
from tenantry.data.catalog.schemas import ItemWrite, UserWrite
from tenantry.data.documents.schemas import DocumentCreate, DocumentUpdate
from tenantry.data.flexible_ids import InvalidId
from tenantry.data.ratings.schemas import RatingWrite
from tenantry.data.spaces import images
from tenantry.data.spaces import service as spaces
from tenantry.data.spaces.schemas import SpaceCreate, SpaceUpdate
from tenantry.data.tenant_models.schemas import TenantModelCreate, TenantModelUpdate
from tenantry.db.sessions import TenantSession
from tenantry.errors import TenantryError, ValidationFailed
from tenantry.ids import new_id
from tenantry.models.data import Document, Space, TenantModel

RENAMES = {"extra": "metadata"}  # attribute -> the API's name


class Refused(ValueError):
    """A write the API would refuse; SQLAdmin shows its message above the form."""


def _check(schema: type[BaseModel], values: dict[str, Any]) -> None:
    fields = schema.model_fields
    try:
        schema.model_validate({k: v for k, v in values.items() if k in fields})
    except ValidationError as error:
        problems = (
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise Refused("; ".join(problems)) from None


class DataView(ModelView):
    """A table of a database's schema (`plane` "data"), or of the template ("template")."""

    plane: ClassVar[str] = "data"
    can_export = False
    page_size = 25
    create_schema: ClassVar[type[BaseModel] | None] = None
    update_schema: ClassVar[type[BaseModel] | None] = None

    def _stmt_by_identifier(self, identifier: str) -> Select[Any]:
        try:
            return super()._stmt_by_identifier(identifier)
        except ValueError as error:  # not an id of the column's type: nothing has it
            raise HTTPException(404) from error

    async def _run_query(self, stmt: ClauseElement) -> Any:
        try:
            return await super()._run_query(stmt)
        except StatementError as error:
            if isinstance(error.orig, InvalidId):  # an item or user id of another type
                raise HTTPException(404) from error
            raise

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        try:
            return await super().insert_model(request, data)
        except IntegrityError as error:
            raise Refused(f"The database refused it: {error.orig}") from None

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        try:
            return await super().update_model(request, pk, data)
        except IntegrityError as error:
            raise Refused(f"The database refused it: {error.orig}") from None

    def keep_ids(self, data: dict[str, Any], is_created: bool) -> None:
        """An edit changes no id: a row keeps the id it was made with, as in the API."""
        if not is_created:
            for column in self.pk_columns:
                data.pop(column.name, None)

    async def on_model_change(
        self, data: dict[str, Any], model: Any, is_created: bool, request: Request
    ) -> None:
        self.keep_ids(data, is_created)
        schema = self.create_schema if is_created else self.update_schema
        if schema is not None:
            _check(schema, {RENAMES.get(name, name): value for name, value in data.items()})


class TenantModelView(DataView, model=TenantModel):
    name = "Tenant model"
    icon = "fa-solid fa-cubes"
    column_list = [
        TenantModel.name,
        TenantModel.alias,
        TenantModel.model_id,
        TenantModel.is_enabled,
        TenantModel.created_at,
    ]
    column_searchable_list = [TenantModel.name, TenantModel.alias, TenantModel.model_id]
    column_sortable_list = [TenantModel.name, TenantModel.alias, TenantModel.created_at]
    column_default_sort = [(TenantModel.created_at, True)]
    form_excluded_columns = [TenantModel.created_at, TenantModel.updated_at]
    create_schema, update_schema = TenantModelCreate, TenantModelUpdate


class BackgroundForm(Form):
    background = FileField(
        "Background image", description="PNG, JPEG, WebP or GIF; leave empty to keep it."
    )


def _thumbnail(size: int) -> Callable[[Any, Any, Request], Markup]:
    def show(space: Any, _: Any, request: Request) -> Markup:
        view = request.path_params.get("identity", "space")
        url = request.url_for(f"admin:view-{view}-background", pk=str(space.space_id))
        return Markup(
            '<span class="space-id">{id}</span><br><img class="space-background" src="{url}" '
            'alt="background" style="max-width:{size}px;max-height:{size}px" '
            "onerror=\"this.style.display='none'\">"
        ).format(id=escape(str(space.space_id)), url=escape(str(url)), size=size)

    return show


class SpaceView(DataView, model=Space):
    name = "Space"
    icon = "fa-solid fa-image"
    column_list = [Space.space_id, Space.name, Space.description, Space.created_at]
    column_searchable_list = [Space.name, Space.description]
    column_sortable_list = [Space.name, Space.created_at]
    column_default_sort = [(Space.created_at, True)]
    column_labels = {Space.extra: "metadata", Space.space_id: "space id / background"}
    column_formatters = {Space.space_id: _thumbnail(80)}
    column_formatters_detail = {Space.space_id: _thumbnail(480)}
    form_columns = [Space.name, Space.description, Space.extra]
    form_base_class = BackgroundForm
    create_schema, update_schema = SpaceCreate, SpaceUpdate

    @expose("/background/{pk}", methods=["GET"])
    async def background(self, request: Request) -> Response:
        """The space's background image, read through the view's bound session."""
        try:
            space_id = uuid.UUID(request.path_params["pk"])
        except ValueError as error:
            raise HTTPException(404) from error
        async with self.session_maker() as session:
            try:
                image = await spaces.background(TenantSession(session), space_id)
            except TenantryError as error:
                raise HTTPException(404) from error
        return Response(
            image.data, media_type=image.content_type, headers={"Cache-Control": "no-store"}
        )

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        image = await _image(request, data.pop("background", None))
        await self.on_model_change(data, None, True, request)
        values = {RENAMES.get(name, name): value for name, value in data.items()}
        values["metadata"] = values.get("metadata") or {}
        async with self.session_maker() as session:
            space_id = await spaces.add(TenantSession(session), values)
            if image is not None:
                await spaces.set_background(TenantSession(session), space_id, image)
            await session.commit()
        return Space(space_id=space_id)

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        image = await _image(request, data.pop("background", None))
        await self.on_model_change(data, None, False, request)
        changes = {RENAMES.get(name, name): value for name, value in data.items()}
        space_id = uuid.UUID(pk)
        async with self.session_maker() as session:
            await spaces.change(TenantSession(session), space_id, changes)
            if image is not None:
                await spaces.set_background(TenantSession(session), space_id, image)
            await session.commit()
        return Space(space_id=space_id)


async def _image(request: Request, upload: Any) -> images.CheckedImage | None:
    """The uploaded background, checked as `PUT /v1/spaces/{id}/background` checks it."""
    if not isinstance(upload, UploadFile):
        return None
    data = await upload.read()
    if not data:
        return None
    settings: Settings = request.app.state.tenantry.state.settings
    if len(data) > settings.max_image_bytes:
        raise Refused(f"The image is larger than {settings.max_image_bytes} bytes.")
    try:
        return await asyncio.to_thread(images.check, data, settings.max_image_pixels)
    except TenantryError as error:
        raise Refused(error.detail) from error


class DocumentView(DataView, model=Document):
    name = "Document"
    icon = "fa-solid fa-file-lines"
    column_list = [
        Document.id,
        Document.title,
        Document.content_type,
        Document.language,
        Document.tenant_id,
        Document.created_at,
    ]
    column_searchable_list = [Document.id, Document.title, Document.tenant_id]
    column_sortable_list = [Document.id, Document.title, Document.tenant_id, Document.created_at]
    column_default_sort = [(Document.created_at, True)]
    column_labels = {Document.extra: "metadata"}
    form_include_pk = True
    form_excluded_columns = [Document.created_at, Document.updated_at]
    form_args = {"id": {"description": "1 to 128 of A-Z a-z 0-9 _ -; made up when left empty."}}
    create_schema, update_schema = DocumentCreate, DocumentUpdate

    async def on_model_change(
        self, data: dict[str, Any], model: Any, is_created: bool, request: Request
    ) -> None:
        if is_created and not data.get("id"):
            data["id"] = new_id()
        data["content"] = data.get("content") or ""
        await super().on_model_change(data, model, is_created, request)


def _check_ids(view: DataView, data: dict[str, Any], **kinds: str) -> None:
    """The ids of `data` (field -> item or user) as the database's id types accept them."""
    assert current_admin() is not None
    for field, kind in kinds.items():
        if field not in data:
            continue
        column = ids.FlexibleId(kind, template=view.plane == "template")
        try:
            column.process_bind_param(data[field], None)  # type: ignore[arg-type]
        except InvalidId as error:
            raise Refused(f"{field}: {error}") from None


async def _declared_only(view: DataView, kind: catalog.Kind, properties: Any) -> Any:
    """The properties as the API would store them: declared, each of its type."""
    async with view.session_maker() as session:
        try:
            return await catalog.check(TenantSession(session), kind, properties or {})
        except ValidationFailed as error:
            problems = (f"{field}: {' '.join(m)}" for field, m in (error.errors or {}).items())
            raise Refused("; ".join(problems)) from None


async def _check_rated_exist(view: DataView, data: dict[str, Any]) -> None:
    """A rating names a user and an item that exist, as in the API (ratings have no
    foreign keys: they outlive the properties of their user or item)."""
    template = view.plane == "template"
    async with view.session_maker() as session:
        for kind, field in ((catalog.USERS, "user_id"), (catalog.ITEMS, "item_id")):
            key = ids.FlexibleId(kind.name, template).process_bind_param(data[field], None)  # type: ignore[arg-type]
            if key is None or not await catalog.present(TenantSession(session), kind, key):
                raise Refused(f"The rating is refused: no {kind.name} has the id {data[field]}.")


class ItemView(DataView, model=ids.Item):
    name = "Item"
    icon = "fa-solid fa-box"
    column_list = [ids.Item.item_id, ids.Item.properties]
    column_sortable_list = [ids.Item.item_id]
    column_searchable_list = [ids.Item.properties]
    form_include_pk = True

    async def on_model_change(
        self, data: dict[str, Any], model: Any, is_created: bool, request: Request
    ) -> None:
        self.keep_ids(data, is_created)
        _check_ids(self, data, item_id="item")
        _check(ItemWrite, {"item": data.get("properties") or {}})
        data["properties"] = await _declared_only(self, catalog.ITEMS, data.get("properties"))


class UserView(DataView, model=ids.User):
    name = "User"
    icon = "fa-solid fa-user"
    column_list = [ids.User.user_id, ids.User.properties]
    column_sortable_list = [ids.User.user_id]
    column_searchable_list = [ids.User.properties]
    form_include_pk = True

    async def on_model_change(
        self, data: dict[str, Any], model: Any, is_created: bool, request: Request
    ) -> None:
        self.keep_ids(data, is_created)
        _check_ids(self, data, user_id="user")
        _check(UserWrite, {"user": data.get("properties") or {}})
        data["properties"] = await _declared_only(self, catalog.USERS, data.get("properties"))


class RatingView(DataView, model=ids.Rating):
    name = "Rating"
    icon = "fa-solid fa-star"
    column_list = [
        ids.Rating.user_id,
        ids.Rating.item_id,
        ids.Rating.rating,
        ids.Rating.timestamp,
    ]
    column_sortable_list = [
        ids.Rating.user_id,
        ids.Rating.item_id,
        ids.Rating.rating,
        ids.Rating.timestamp,
    ]
    form_include_pk = True
    form_overrides = {"rating": FloatField, "timestamp": FloatField}  # double precision
    form_args = {
        "timestamp": {
            "description": "Seconds since 1970; now when left empty.",
            "validators": [Optional()],
        }
    }

    async def on_model_change(
        self, data: dict[str, Any], model: Any, is_created: bool, request: Request
    ) -> None:
        self.keep_ids(data, is_created)
        _check_ids(self, data, user_id="user", item_id="item")
        if is_created:
            await _check_rated_exist(self, data)
        if data.get("timestamp") is None:
            data["timestamp"] = time.time()
        _check(RatingWrite, {"rating": data.get("rating"), "timestamp": data["timestamp"]})


DATA_VIEWS: list[type[DataView]] = [
    TenantModelView,
    SpaceView,
    DocumentView,
    ItemView,
    UserView,
    RatingView,
]
TEMPLATE_MODELS = {ItemView: ids.TemplateItem, UserView: ids.TemplateUser}
TEMPLATE_MODELS |= {RatingView: ids.TemplateRating}


def template_view(view: type[DataView]) -> type[DataView]:
    """The same page, bound to the template (its session maker is set by the admin)."""
    attrs = {
        "plane": "template",
        "category": "Template",
        "name": f"Template {view.name.lower()}",
        "name_plural": f"Template {view.name.lower()}s",
    }
    model = TEMPLATE_MODELS.get(view, view.model)
    made = types.new_class(
        f"Template{view.__name__}", (view,), {"model": model}, lambda ns: ns.update(attrs)
    )
    made.identity = f"template-{view.identity}"  # type: ignore[attr-defined]
    return cast(type[DataView], made)


TEMPLATE_VIEWS = [template_view(view) for view in DATA_VIEWS]
