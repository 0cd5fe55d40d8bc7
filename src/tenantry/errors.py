"""Errors as data, and the one renderer that turns any of them into problem+json.

The body carries RFC 9457's members, a stable `code`, the fields in error (400 only), and
the `error_code` / `error_name` / `error_data` convention of the databases API.
"""

from collections.abc import Mapping, Sequence
from contextlib import suppress
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match

from tenantry.context import current_request
from tenantry.metrics import Metrics

PROBLEM_JSON = "application/problem+json"


class TenantryError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "SERVER_ERROR"
    error_code: ClassVar[int] = 0
    error_name: ClassVar[str] = "ServerError"
    default_detail: ClassVar[str] = "The server failed to answer this request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.errors = dict(errors) if errors else None
        self.data = dict(data) if data else {}
        self.headers = dict(headers) if headers else {}
        super().__init__(self.detail)

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase

    def client_data(self) -> dict[str, Any]:
        """What the Crossing Minds client formats its message with (`error_data`'s keys
        its error classes name), unless the error says it itself."""
        return {}

    def error_data(self) -> dict[str, Any]:
        """`name`, what the client formats its message with, the raiser's data; and for a
        400 that names fields in error, those fields (`type` `field`, `key` their names
        joined, `fields` each one's messages): the client shows only `error_data`."""
        data: dict[str, Any] = {"name": self.code, **self.client_data(), **self.data}
        if self.status == 400 and self.errors:
            data.setdefault("type", "field")
            data.setdefault("key", ", ".join(self.errors))
            data.setdefault("fields", self.errors)
        return data

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:tenantry:problem:{self.code.lower().replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "message": self.detail,
            "error_code": self.error_code,
            "error_name": self.error_name,
            "error_data": self.error_data(),
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class BadRequest(TenantryError):
    status = 400
    code = "BAD_REQUEST"
    error_code = 40
    error_name = "WrongData"
    default_detail = "The request is not valid."


class ValidationFailed(BadRequest):
    code = "VALIDATION_ERROR"
    default_detail = "Some fields are not valid."


class Unauthorized(TenantryError):
    status = 401
    code = "UNAUTHORIZED"
    error_code = 21
    error_name = "AuthError"
    default_detail = "Credentials are missing or not valid."

    def client_data(self) -> dict[str, Any]:
        return {"error": self.detail}  # 'Cannot perform authentication: {error}'


class Forbidden(TenantryError):
    status = 403
    code = "FORBIDDEN"
    error_code = 50
    error_name = "ForbiddenError"
    default_detail = "You have no permission to do this."

    def client_data(self) -> dict[str, Any]:
        return {"error": self.detail}  # 'Do not have enough permissions …: {error}'


class NotFound(TenantryError):
    """'The {type} {key} does not exist': `type` is named by the class (or from its code,
    `SPACE_NOT_FOUND` → `space`), `key` by the raiser, else the request's path."""

    status = 404
    code = "NOT_FOUND"
    error_code = 60
    error_name = "NotFoundError"
    default_detail = "Nothing was found here."
    resource: ClassVar[str | None] = None

    def client_data(self) -> dict[str, Any]:
        resource = self.resource
        if resource is None:
            name = self.code.removesuffix("_NOT_FOUND")
            resource = "resource" if name == self.code else name.lower().replace("_", " ")
        request = current_request()
        return {"type": resource, "key": request.path if request is not None else None}


class RouteNotFound(NotFound):
    """No route has this path (the framework's 404): same code as any other 404."""

    resource = "route"
    default_detail = "No route of this API has this path."

    def client_data(self) -> dict[str, Any]:
        request = current_request()
        key = f"{request.method} {request.path}" if request is not None else None
        return {"type": self.resource, "key": key}


class MethodNotAllowed(TenantryError):
    status = 405
    code = "METHOD_NOT_ALLOWED"
    error_code = 70
    error_name = "MethodNotAllowed"
    default_detail = "This method is not allowed on this resource."

    def client_data(self) -> dict[str, Any]:
        request = current_request()
        return {"method": request.method if request is not None else None}


class Conflict(TenantryError):
    status = 409
    code = "CONFLICT"
    error_code = 42
    error_name = "DuplicatedError"
    default_detail = "The request conflicts with the current state."


class RequestTimeout(TenantryError):
    status = 408
    code = "REQUEST_TIMEOUT"
    error_code = 40
    error_name = "WrongData"
    default_detail = "The request's body did not arrive in time."


class PayloadTooLarge(TenantryError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    error_code = 40
    error_name = "WrongData"
    default_detail = "The request body is too large."


class UnsupportedMediaType(TenantryError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    error_code = 40
    error_name = "WrongData"
    default_detail = "This content type is not accepted here."


class NotAcceptable(TenantryError):
    status = 406
    code = "NOT_ACCEPTABLE"
    error_code = 40
    error_name = "WrongData"
    default_detail = "This server answers in JSON only (Accept: application/json)."


class TooManyRequests(TenantryError):
    status = 429
    code = "TOO_MANY_REQUESTS"
    error_code = 2
    error_name = "TooManyRequests"
    default_detail = "Too many requests; retry later."


class ServiceUnavailable(TenantryError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
    error_code = 1
    error_name = "ServerUnavailable"
    default_detail = "The service is not available right now; retry later."


class DatabaseUnavailable(ServiceUnavailable):
    """PostgreSQL could not be reached, or the connection broke mid-request: the request
    may be sent again (with its Idempotency-Key) once the database is back."""

    code = "DATABASE_UNAVAILABLE"
    default_detail = "The database cannot be reached right now; retry later."
    retry_after = "2"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": self.retry_after})


class TooManyConnections(ServiceUnavailable):
    """The process has `TENANTRY_MAX_CONNECTIONS` open: a new connection's first request
    is answered this (by the server, before the app), and the connection closed."""

    code = "TOO_MANY_CONNECTIONS"
    default_detail = "The server has all the connections it takes; retry shortly."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1", "Connection": "close"})


class ServerError(TenantryError):
    """An unexpected failure; its cause is logged, never sent."""


BY_STATUS: dict[int, type[TenantryError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        RouteNotFound,
        MethodNotAllowed,
        NotAcceptable,
        Conflict,
        RequestTimeout,
        PayloadTooLarge,
        UnsupportedMediaType,
        TooManyRequests,
        ServiceUnavailable,
    )
}


def from_status(status: int, headers: Mapping[str, str] | None = None) -> TenantryError:
    cls = BY_STATUS.get(status)
    if cls is not None:
        return cls(headers=headers)
    error = BadRequest(headers=headers) if status < 500 else ServerError(headers=headers)
    error.status = status  # type: ignore[misc]  # an HTTP status with no class of its own
    with suppress(ValueError):
        error.detail = HTTPStatus(status).phrase
    return error


def field_errors(errors: Sequence[Any]) -> dict[str, list[str]]:
    """Pydantic errors as `{field: [messages]}`, naming only the fields in error."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path", "header", "cookie"):
            location = location[1:] if len(location) > 1 else location
        if error.get("type") == "json_invalid":
            location = ["body"]
            message = f"Invalid JSON: {error.get('ctx', {}).get('error', 'cannot be parsed')}"
        else:
            message = str(error.get("msg", "Invalid value"))
        fields.setdefault(".".join(location) or "body", []).append(message)
    return fields


def problem_response(error: TenantryError) -> JSONResponse:
    body = error.body()
    request = current_request()
    if request is not None:
        body["instance"] = request.path
        body["request_id"] = request.id
    return JSONResponse(
        body, status_code=error.status, headers=error.headers, media_type=PROBLEM_JSON
    )


class UnstorableValue(BadRequest):
    code = "UNSTORABLE_VALUE"
    default_detail = (
        "A value in the request cannot be stored (a NUL character, or a number out of range)."
    )


def _is_data_exception(exc: Exception) -> bool:
    """PostgreSQL's class 22: the statement was fine, a value the client sent was not.
    Through SQLAlchemy, or straight from the driver (the hot reads and list-tenant-ids)."""
    if isinstance(exc, DBAPIError):
        exc = exc.orig  # type: ignore[assignment]
    elif not isinstance(exc, asyncpg.PostgresError):
        return False
    return str(getattr(exc, "sqlstate", None) or "").startswith("22")


# PostgreSQL's codes for "not now": connection exceptions (class 08), too many connections,
# shutting down (administrator, crash) and starting up.
UNAVAILABLE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03")


def _is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database is out of reach rather than that
    the request was wrong: refused or broken connections, a pool or connect timeout, a
    server shutting down or starting up."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError | DisconnectionError | PoolTimeout):
            return True  # OSError: refused, reset, no socket, timed out
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if str(getattr(error, "sqlstate", None) or "").startswith(UNAVAILABLE_SQLSTATES):
            return True
        if isinstance(error, asyncpg.InterfaceError) and "closed" in str(error):
            return True  # the connection is closed (ConnectionDoesNotExistError and kin)
        if isinstance(error, asyncpg.InternalClientError) and "another operation" in str(error):
            return True  # a shutdown's message broke off the protocol of an idle connection
        error = error.__cause__ or error.__context__
    return False


def as_problem(exc: Exception) -> TenantryError:
    if isinstance(exc, TenantryError):
        return exc
    if _is_data_exception(exc):
        return UnstorableValue()
    if isinstance(exc, RequestValidationError):
        fields = field_errors(exc.errors())
        return ValidationFailed(f"Not valid: {', '.join(sorted(fields))}.", errors=fields)
    if isinstance(exc, HTTPException):
        if exc.status_code == 400:  # FastAPI could not decode the body (bad UTF-8, too deep)
            return ValidationFailed(
                "The request body is not valid JSON.",
                errors={"body": ["Not valid UTF-8 JSON, or nested too deeply."]},
            )
        return from_status(exc.status_code, exc.headers)
    if _is_unreachable(exc):  # what would otherwise be a 500
        return DatabaseUnavailable()
    return ServerError()


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method that some route serves at the request's path. The framework's 405
    names only the methods of the first route whose path matched. Where a route's path is
    literal (`/documents/metadata-schema`), its segments are no ids of the routes with
    parameters that the path also fits (`/documents/{document_id}`), so only the literal
    routes count."""
    matched = [
        (method, route)
        for route in (context.original_route for context in iter_route_contexts(request.app.routes))
        for method in METHODS
        if route.matches({**request.scope, "method": method})[0] == Match.FULL
    ]
    literal = [(method, route) for method, route in matched if not _parameters(route)]
    served = {method for method, _ in literal or matched}
    return [method for method in METHODS if method in served]


def _parameters(route: BaseRoute) -> dict[str, object]:
    return getattr(route, "param_convertors", {})


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    problem = as_problem(exc)
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.refused(problem.status, problem.code)
    if problem.status == 405:
        problem.headers["Allow"] = ", ".join(allowed_methods(request))
    return problem_response(problem)


def add_error_handlers(app: FastAPI) -> None:
    # Exception: what nothing else handles is answered as a problem too; the framework
    # then raises it again, for the request layer to log.
    for exc_class in (TenantryError, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(exc_class, _handle)
