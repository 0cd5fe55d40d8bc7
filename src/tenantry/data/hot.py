"""The hottest reads, served without the framework's routing and dependency machinery.

A hot read is an ordinary endpoint function that the router also serves (and documents).
When a request is the common case — a read of a hot route with one API key and nothing
else to decide — this layer calls that function itself; any other request, and any
request that ends in an error, goes on to the application, which answers it as always.
The answers are the same; only the route to them is shorter. A read may be a POST (its
parameters in a JSON body, as list-tenant-ids has them): the body is read here and
handed on unchanged when the application must decide.
"""

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.auth.context import authenticate_key
from tenantry.data.access import data_schema
from tenantry.data.pagination import MAX_CURSOR_LENGTH, MAX_LIMIT
from tenantry.errors import TenantryError
from tenantry.routing import is_json

Handler = Callable[..., Awaitable[Response]]


@dataclass
class HotRead:
    """`<method> path` -> `handler(request, context, schema, *<the path's parameters>)`."""

    path: re.Pattern[str]
    handler: Handler
    method: str = "GET"
    served: int = 0  # requests answered here rather than by the application


class HotReads:
    def __init__(self, app: ASGIApp, *, reads: Sequence[HotRead]) -> None:
        self.app = app
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for read in self.reads:
                if read.method == scope["method"] and (match := read.path.fullmatch(scope["path"])):
                    request = Request(scope, receive)
                    if read.method != "GET":
                        receive = _replaying(await request.body(), receive)
                    response = await _answer(read.handler, request, match.groups())
                    if response is not None:
                        read.served += 1
                        await response(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for the application, which reads again the body already read here."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _answer(handler: Handler, request: Request, parameters: Sequence[str]) -> Response | None:
    """The handler's response, or None when the full application must decide."""
    headers = request.headers
    key = headers.get("x-api-key")
    if key is None or "authorization" in headers or headers.get("api-key", key) != key:
        return None
    try:
        context = await authenticate_key(request, key)
        return await handler(request, context, data_schema(context, write=False), *parameters)
    except (TenantryError, ValueError):
        return None


async def json_object(request: Request, allowed: set[str]) -> dict[str, Any]:
    """The body, when it is plainly a JSON object with no member outside `allowed`;
    ValueError leaves anything else to the application."""
    if not is_json(request.headers.get("content-type", "")):
        raise ValueError("left to the application")
    body = json.loads(await request.body())  # ValueError on bad JSON or bad UTF-8
    if not isinstance(body, dict) or body.keys() - allowed:
        raise ValueError("left to the application")
    return body


def page_parameters(request: Request, default_limit: int) -> tuple[int, str | None]:
    """`limit` and `cursor` when they are plainly valid; ValueError leaves the rest (and
    its error message) to the application."""
    query = request.query_params
    limit = int(query.get("limit", default_limit))  # ValueError unless digits
    cursor = query.get("cursor")
    if not 1 <= limit <= MAX_LIMIT or (cursor is not None and len(cursor) > MAX_CURSOR_LENGTH):
        raise ValueError("left to the application")
    return limit, cursor
