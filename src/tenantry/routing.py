"""Routes, and what a route declares about itself where it is declared.

Routes refuse a body in a content type they cannot read (415), and answer with and without
their trailing slash. A route's endpoint may be marked `@hot` (the hot layer answers its
common case, `tenantry.hot`) or `@body_limit("<setting>")` (its bodies may be as large as
that setting, not `max_body_bytes`): the layers that act on those are built from the
application's routes, so renaming or moving a route carries them along.
"""

import re
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response, params
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from tenantry.errors import UnsupportedMediaType

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_HOT = "__tenantry_hot__"
_BODY_LIMIT = "__tenantry_body_limit__"


def hot(endpoint: Endpoint) -> Endpoint:
    """Mark a read that the hot layer answers itself in the common case (one API key)."""
    setattr(endpoint, _HOT, True)
    return endpoint


def is_hot(endpoint: Callable[..., Any]) -> bool:
    return bool(getattr(endpoint, _HOT, False))


def body_limit(setting: str) -> Callable[[Endpoint], Endpoint]:
    """Let the route take bodies as large as the setting named (a field of `Settings`)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _BODY_LIMIT, setting)
        return endpoint

    return mark


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route of an application, those of included routers too."""
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            if context.path != route.path:  # an include's prefix: not what the route says
                raise TypeError(f"{route.path} is served at {context.path}")
            yield route


def body_limits(routes: Sequence[BaseRoute], settings: object) -> list[tuple[re.Pattern[str], int]]:
    """(path pattern, limit) of every route that declares a limit of its own."""
    return [
        (route.path_regex, int(getattr(settings, setting)))
        for route in api_routes(routes)
        if (setting := getattr(route.endpoint, _BODY_LIMIT, None)) is not None
    ]


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return (length is not None and length.strip() != "0") or (
        "transfer-encoding" in request.headers
    )


class TenantryRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or isinstance(self.body_field.field_info, params.Form):
            return handler

        async def json_only(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            if content_type is not None and _has_body(request) and not is_json(content_type):
                raise UnsupportedMediaType(
                    f"Send JSON with Content-Type: application/json, not {content_type[:100]}."
                )
            return await handler(request)

        return json_only


class Router(APIRouter):
    """Routes answer with and without their trailing slash, without redirecting; the
    form declared is the one in the OpenAPI document."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", TenantryRoute)
        super().__init__(**kwargs)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        if other or self.prefix:
            alias = {**kwargs, "include_in_schema": False, "operation_id": None}
            if kwargs.get("name"):
                alias["name"] = f"{kwargs['name']}_other_slash"
            super().add_api_route(other, endpoint, **alias)
