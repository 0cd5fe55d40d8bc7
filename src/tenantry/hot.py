"""The hottest routes, served without the framework's routing and dependency machinery.

A hot route is an ordinary route marked `@hot` where it is declared. When a request is the
common case — a call of a hot route with one API key and nothing else to decide — this
layer answers it by calling the route's endpoint itself, with the route's own parameters
read and checked by the route's own fields (the same validation FastAPI runs) and its
dependencies computed by the same functions. Anything that does not plainly check out,
and any request that ends in an error, goes on to the application, which answers it as
always. So the hot path can only answer what the application would answer; only the way
to the answer is shorter. A read may be a POST (its parameters in a JSON body, as
list-tenant-ids has them): the body is read here and handed on unchanged when the
application must decide. A hot write (the spaces' create, update and delete) makes its
change in one statement or one transaction, so a write that ends in an error has changed
nothing, and the application can answer it from the start.

Everything is derived from the application's routes when the layer is built: a route
marked hot whose parameters or dependencies this layer cannot compute exactly is refused
then, not served differently.
"""

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi._compat import ModelField, Undefined, field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    _validate_value_with_model_field,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.auth.context import AuthContext, authenticate, authenticate_key
from tenantry.errors import TenantryError
from tenantry.idempotency import Replay
from tenantry.routing import api_routes, is_hot, is_json


class LeftToTheApplication(Exception):
    """The request is not plainly the common case: the application answers it."""


Resolve = Callable[[Request, AuthContext], Awaitable[Any]]


@dataclass
class HotRoute:
    route: APIRoute
    path: re.Pattern[str]
    method: str
    arguments: Callable[[Request, AuthContext, dict[str, str]], Awaitable[dict[str, Any]]]
    served: int = 0  # requests answered here rather than by the application

    async def answer(self, request: Request, context: AuthContext, path: dict[str, str]) -> Any:
        return await self.route.endpoint(**await self.arguments(request, context, path))


class HotReads:
    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = [hot_route(route) for route in api_routes(routes) if is_hot(route.endpoint)]

    def served(self, endpoint: Callable[..., Any]) -> int:
        """How many requests the routes of `endpoint` were answered here."""
        return sum(hot.served for hot in self.routes if hot.route.endpoint is endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for hot in self.routes:
                if hot.method == scope["method"] and (match := hot.path.match(scope["path"])):
                    request = Request(scope, receive)
                    if hot.method != "GET":
                        receive = _replaying(await request.body(), receive)
                    response = await _answer(hot, request, match.groupdict())
                    if response is not None:
                        hot.served += 1
                        scope["route"] = hot.route  # for the metrics, as the router sets it
                        await response(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)


def hot_route(route: APIRoute) -> HotRoute:
    methods = route.methods or set()
    if len(methods) != 1:
        raise TypeError(f"hot route {route.path}: one method, not {sorted(methods)}")
    if inspect.signature(route.endpoint).return_annotation is not Response:
        raise TypeError(f"hot route {route.path}: its endpoint must return a Response")
    return HotRoute(route, route.path_regex, next(iter(methods)), _arguments_of(route))


def _arguments_of(
    route: APIRoute,
) -> Callable[[Request, AuthContext, dict[str, str]], Awaitable[dict[str, Any]]]:
    """How to compute the endpoint's arguments as the application would: the same fields
    read by the framework's own functions, the same dependencies called."""
    dependant = route.dependant
    if dependant.header_params or dependant.cookie_params:
        raise TypeError(f"hot route {route.path}: headers and cookies are not read here")
    bodies = dependant.body_params
    if len(bodies) > 1 or any(getattr(body.field_info, "embed", False) for body in bodies):
        raise TypeError(f"hot route {route.path}: one body, not embedded")
    dependencies = [(sub.name, _resolver(route, sub)) for sub in dependant.dependencies]
    path_params, query_params = _reader(dependant.path_params), _reader(dependant.query_params)
    declared = {param.alias for param in dependant.query_params}

    async def arguments(
        request: Request, context: AuthContext, path: dict[str, str]
    ) -> dict[str, Any]:
        if not declared.issuperset(request.query_params):
            raise LeftToTheApplication  # a parameter the route does not read: not plain
        converted = {
            name: route.param_convertors[name].convert(value) for name, value in path.items()
        }
        values = _checked(path_params(converted))
        if dependant.query_params:
            values |= _checked(query_params(request.query_params))
        if bodies:
            body = await _json_body(request)
            values |= _checked(await request_body_to_args(bodies, body, embed_body_fields=False))
        if dependant.request_param_name:
            values[dependant.request_param_name] = request
        for name, resolve in dependencies:
            value = await resolve(request, context)
            if name is not None:  # a router's dependency checks; it gives the endpoint nothing
                values[name] = value
        return values

    return arguments


Read = tuple[dict[str, Any], list[Any]]


@dataclass(frozen=True)
class _Param:
    """What the framework works out for a parameter on every request, worked out once."""

    field: ModelField
    keys: list[tuple[str, str]]  # (validation alias, request key), in preference order
    many: bool  # a list, read with `getlist`
    where: str  # "path", "query"


def _reader(fields: list[ModelField]) -> Callable[[Mapping[str, Any]], Read]:
    """`request_params_to_args` for `fields`, each read and validated by the framework's
    own steps (`_get_multidict_value`, `_validate_value_with_model_field`), with what
    depends on the field alone worked out here rather than per request."""
    if any(_get_param_model(field) is not None for field in fields):
        return lambda received: request_params_to_args(fields, received)
    params = [
        _Param(
            field,
            _get_param_aliases(field),
            not _is_json_field(field) and field_annotation_is_sequence(field.field_info.annotation),
            field.field_info.in_.value,  # type: ignore[attr-defined]  # a Param's
        )
        for field in fields
    ]

    def read(received: Mapping[str, Any]) -> Read:
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for param in params:
            keys = param.keys
            key = next((key for _, key in keys if key in received), keys[0][1])
            if param.many and isinstance(received, ImmutableMultiDict | Headers):
                value: Any = received.getlist(key)
            else:
                value = received.get(key)
            if value is None or (param.many and len(value) == 0):
                value = Undefined
            field = param.field
            loc = (param.where, key)
            read, wrong = _validate_value_with_model_field(
                field=field, value=value, values=values, loc=loc
            )
            if wrong:
                errors.extend(wrong)
            else:
                values[field.name] = read
        return values, errors

    return read


def _checked(read: Read) -> dict[str, Any]:
    """The values read; any error: the application answers (with its own message)."""
    values, errors = read
    if errors:
        raise LeftToTheApplication
    return values


def _resolver(route: APIRoute, dependant: Dependant) -> Resolve:
    """A dependency computed from the caller alone: the caller itself, or a function of
    the caller (and the request), as FastAPI would call it."""
    if dependant.call is authenticate:

        async def caller(request: Request, context: AuthContext) -> AuthContext:
            return context

        return caller
    call = dependant.call
    plain = not (inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call))
    params = [*dependant.path_params, *dependant.query_params, *dependant.body_params]
    params += dependant.cookie_params
    if call is None or not plain or params:
        raise TypeError(f"hot route {route.path}: dependency {dependant.name} is not computed here")
    subs = [(sub.name, _resolver(route, sub)) for sub in dependant.dependencies]
    headers = dependant.header_params
    request_name = dependant.request_param_name

    async def resolve(request: Request, context: AuthContext) -> Any:
        values: dict[str, Any] = {}
        if headers:
            values |= _checked(request_params_to_args(headers, request.headers))
        for name, each in subs:
            assert name is not None
            values[name] = await each(request, context)
        if request_name:
            values[request_name] = request
        result = call(**values)
        return await result if inspect.isawaitable(result) else result

    return resolve


async def _json_body(request: Request) -> Any:
    if not is_json(request.headers.get("content-type", "")):
        raise LeftToTheApplication
    body = await request.body()
    if not body:
        raise LeftToTheApplication
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:  # bad JSON or UTF-8, or nested too deep
        raise LeftToTheApplication from error


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


async def _answer(hot: HotRoute, request: Request, path: dict[str, str]) -> Response | None:
    """The endpoint's response, or None when the full application must decide."""
    headers = request.headers
    key = headers.get("x-api-key")
    if key is None or "authorization" in headers or headers.get("api-key", key) != key:
        return None
    try:
        context = await authenticate_key(request, key)
        response: Response = await hot.answer(request, context, path)
    except (TenantryError, LeftToTheApplication, ValueError, Replay):
        return None  # nothing written: a write refused here is made in one transaction
    return response
