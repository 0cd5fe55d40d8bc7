"""Routes that refuse a body in a content type they cannot read (415)."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response, params
from fastapi.routing import APIRoute

from tenantry.errors import UnsupportedMediaType


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
