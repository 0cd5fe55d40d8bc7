"""The API's documentation pages and the landing page, with every asset served by this
server: Swagger UI and ReDoc come from the `fastapi-offline` package, so the pages work
with no internet access and request nothing from another host."""

from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from typing import Any, get_args

from fastapi import FastAPI, Request, params
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from tenantry.admin import docs_auth
from tenantry.auth.context import authenticate
from tenantry.data.access import DataReader, DataWriter, ReadSchema, WriteSchema
from tenantry.data.catalog.ids import Ids
from tenantry.idempotency import IdempotencyClaim, IdempotencyOptional, IdempotencyRequired
from tenantry.kernel.versions import V20241104

ASSETS = "/docs/assets"
# Swagger UI would ask validator.swagger.io to check the document of a public host.
SWAGGER_UI = {"validatorUrl": None, "persistAuthorization": True, "tryItOutEnabled": False}

# The pages may load nothing from elsewhere: the browser refuses such requests before they
# leave.
ONLY_THIS_SERVER = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; frame-ancestors 'none'"
}

# ReDoc's sidebar shows its makers' logo from their CDN, which the policy above refuses with
# an error in the console: the bundle is served with an empty image of its own instead.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
NO_LOGO = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"
REDOC_BUNDLE = "/docs/redoc.standalone.js"
ASSET_CACHE = {"Cache-Control": "public, max-age=86400"}

LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="{assets}/favicon.png">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;
padding:0 1rem;color:#222}}a{{color:#0b5cad}}li{{margin:.3rem 0}}</style></head>
<body><h1>{title} {version}</h1><p>{summary}</p><ul>
<li><a href="/admin/">Admin panel</a> (log in to your database: its data, keys and accounts)</li>
<li><a href="/docs">API documentation</a> (Swagger UI: try the requests)</li>
<li><a href="/redoc">API reference</a> (ReDoc)</li>
<li><a href="/openapi.json">OpenAPI document</a>, and the documents API's own:
<a href="{documents}/openapi.json">{documents}/openapi.json</a></li>
<li><a href="/healthz">/healthz</a> (the process is up) and
<a href="/readyz">/readyz</a> (its database is reachable and migrated)</li>
</ul></body></html>
"""


def add_docs(app: FastAPI) -> None:
    """`/`, `/docs`, `/redoc`, their assets, and the documents API's own OpenAPI document
    (`{V20241104}/openapi.json`). The app must be made with `docs_url=None, redoc_url=None`."""
    static = resources.files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")
    favicon = (static / "favicon.png").read_bytes()
    describe_problems(app)
    title = app.title

    @app.get("/", include_in_schema=False)
    async def landing() -> HTMLResponse:
        page = LANDING.format(
            title=title,
            version=app.version,
            summary=app.summary or "",
            assets=ASSETS,
            documents=V20241104,
        )
        return HTMLResponse(page, headers=ONLY_THIS_SERVER)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} - API documentation",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI,
        )
        page.headers.update(ONLY_THIS_SERVER)
        if (token := await docs_auth.session_access_token(request)) is None:
            return page
        headers = {**ONLY_THIS_SERVER, "Cache-Control": "no-store"}
        return HTMLResponse(docs_auth.preauthorize(bytes(page.body), token), headers=headers)

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} - API reference",
            redoc_js_url=f"{root}{REDOC_BUNDLE}",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        page.headers.update(ONLY_THIS_SERVER)
        return page

    @app.get(REDOC_BUNDLE, include_in_schema=False)
    async def redoc_bundle() -> Response:
        return Response(_redoc_bundle(), media_type="text/javascript", headers=ASSET_CACHE)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon_ico() -> Response:
        return Response(favicon, media_type="image/png", headers=ASSET_CACHE)

    @app.get(f"{V20241104}/openapi.json", include_in_schema=False)
    async def documents_openapi() -> JSONResponse:
        return JSONResponse(_documents_openapi(app))


@cache
def _redoc_bundle() -> bytes:
    bundle = (resources.files("fastapi_offline") / "static" / "redoc.standalone.js").read_bytes()
    return bundle.replace(REDOC_LOGO, NO_LOGO)


@cache
def _documents_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of the routes under `V20241104`, as that API names it."""
    prefix = f"{V20241104}/"
    document = dict(app.openapi())
    document["paths"] = {
        path: item for path, item in document["paths"].items() if path.startswith(prefix)
    }
    document["info"] = {
        **document["info"],
        "title": f"{app.title} documents API",
        "version": V20241104.removeprefix("/v"),
        "summary": "Documents and their tenant ids, as API version 2024-11-04 has them.",
    }
    return document


PROBLEM = "#/components/schemas/Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "Every error (RFC 9457 problem details, `application/problem+json`), "
    "with the members each documented API's clients read.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "example": "urn:tenantry:problem:validation-error"},
        "title": {"type": "string", "example": "Bad Request"},
        "status": {"type": "integer", "example": 400, "description": "The HTTP status."},
        "detail": {"type": "string", "example": "Not valid: name."},
        "code": {"type": "string", "example": "VALIDATION_ERROR"},
        "message": {"type": "string", "description": "The same as `detail`."},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "What is wrong with each member of the request, by its path.",
            "example": {"name": ["Field required"]},
        },
        "error_code": {"type": "integer", "example": 40},
        "error_name": {"type": "string", "example": "WrongData"},
        "error_data": {"type": "object", "example": {"name": "VALIDATION_ERROR"}},
        "instance": {"type": "string", "description": "The request's path."},
        "request_id": {"type": "string", "description": "Also in `X-Request-ID`."},
    },
}
INVALID_REQUEST = {
    "description": "The request is not valid (`VALIDATION_ERROR`): `errors` names each "
    "member at fault.",
    "content": {"application/problem+json": {"schema": {"$ref": PROBLEM}}},
}


def describe_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the server answers on errors: a refused request
    is a 400 problem, not the framework's 422 with its own body, and every error response
    is a `Problem`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        schemas["Problem"] = PROBLEM_SCHEMA
        for item in document["paths"].values():
            for operation in item.values():
                _problems(operation.get("responses", {}))
                for parameter in operation.get("parameters", []):
                    if parameter.get("schema", {}).pop("x-required", False):
                        parameter["required"] = True
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _problems(responses: dict[str, Any]) -> None:
    if responses.get("422", {}).get("description") == "Validation Error":  # the framework's
        del responses["422"]
        responses.setdefault("400", INVALID_REQUEST)
    for status, response in responses.items():
        if status[0] in "45":
            content = response.setdefault("content", {})
            content.pop("application/json", None)
            content["application/problem+json"] = {"schema": {"$ref": PROBLEM}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {}}}


UNAUTHORIZED = _problem(
    "The credentials do not check out (`INVALID_CREDENTIALS`, `TOKEN_EXPIRED`, …), or the "
    "route needs some (`AUTHENTICATION_REQUIRED`)."
)
FORBIDDEN = _problem(
    "The caller may not do this: its role (`ROLE_FORBIDDEN`), a token and a key of "
    "different organizations (`CREDENTIALS_MISMATCH`), no database selected, or a write "
    "to the read-only template (`PUBLIC_SCHEMA_READ_ONLY`)."
)
NOT_FOUND = _problem("Nothing with this id in the caller's database or organization.")
CONFLICT = _problem(
    "The database is not ready (`DATABASE_NOT_READY`) or its schema is behind the server "
    "(`SCHEMA_MIGRATION_PENDING`), or the request conflicts with what is stored."
)
TOO_LARGE = _problem("The body is over the size limit (`PAYLOAD_TOO_LARGE`).")
NOT_JSON = _problem("The body is not JSON (`UNSUPPORTED_MEDIA_TYPE`).")
KEY_REUSED = _problem("The Idempotency-Key was used with another body (`IDEMPOTENCY_KEY_REUSED`).")
UNAVAILABLE = _problem(
    "The database cannot be reached right now (`DATABASE_UNAVAILABLE`): send the request "
    "again after `Retry-After` seconds (a create with the same Idempotency-Key)."
)
NEEDS_NO_DATABASE = {"/healthz"}


def _dependency(alias: Any) -> Callable[..., Any]:
    """The function behind an `Annotated[..., Depends(f)]` alias."""
    depends = get_args(alias)[1]
    assert isinstance(depends, params.Depends)
    assert depends.dependency is not None
    return depends.dependency


DATA_PLANE = {_dependency(alias) for alias in (DataReader, DataWriter, ReadSchema, WriteSchema)}
TEMPLATE_READERS = {_dependency(DataReader), _dependency(ReadSchema)}
NEEDS_A_DATABASE = {_dependency(Ids), _dependency(DataWriter), _dependency(WriteSchema)}
IDEMPOTENT = {
    _dependency(alias) for alias in (IdempotencyRequired, IdempotencyOptional, IdempotencyClaim)
}


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            found.add(dependency.call)
        found |= _calls(dependency)
    return found


def _admits_anonymous(calls: set[Callable[..., Any]], authenticating: set[Any]) -> bool:
    """Reads of the template, and routes that only ask who calls, take no credentials."""
    reads_template = bool(calls & TEMPLATE_READERS) and not calls & NEEDS_A_DATABASE
    return reads_template or calls <= authenticating


def document_problems(routes: Iterable[BaseRoute]) -> None:
    """Name among each route's answers the errors that the layers it goes through give:
    the body's limits, its ids, its credentials and its database. A route that also
    serves callers without credentials says so (an empty security requirement)."""
    authenticating = {authenticate} | _calls(_authenticate_dependant())
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        calls, responses = _calls(route.dependant), route.responses
        if route.body_field is not None:
            responses.setdefault(413, TOO_LARGE)
            if not isinstance(route.body_field.field_info, params.Form):
                responses.setdefault(415, NOT_JSON)
        if route.dependant.path_params:
            responses.setdefault(404, NOT_FOUND)
        if authenticate in calls:
            responses.setdefault(401, UNAUTHORIZED)
            responses.setdefault(403, FORBIDDEN)
            if _admits_anonymous(calls, authenticating):
                route.openapi_extra = {**(route.openapi_extra or {}), "security": [{}]}
        if calls & DATA_PLANE:
            responses.setdefault(409, CONFLICT)
        if calls & IDEMPOTENT:  # then the framework does not add its 422 (made 400 above)
            responses.setdefault(400, INVALID_REQUEST)
            responses.setdefault(422, KEY_REUSED)
        if route.path not in NEEDS_NO_DATABASE:
            responses.setdefault(503, UNAVAILABLE)


@cache
def _authenticate_dependant() -> Dependant:
    return get_dependant(path="", call=authenticate)
