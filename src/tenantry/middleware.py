"""The outermost layer of every request: its id, its size limit, its security headers, its
log line, its last line of defence against an unexpected exception."""

import asyncio
import itertools
import logging
import os
import re
import time
from collections.abc import Collection, Iterable, Sequence
from contextlib import suppress
from urllib.parse import quote, urlsplit, urlunsplit

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.context import RequestInfo, enter_request, leave_request
from tenantry.errors import (
    DatabaseUnavailable,
    NotAcceptable,
    PayloadTooLarge,
    ServerError,
    TenantryError,
    UnsupportedMediaType,
    as_problem,
    problem_response,
)
from tenantry.metrics import Metrics
from tenantry.traffic import Traffic

logger = logging.getLogger("tenantry.request")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
Header = tuple[bytes, bytes]
SECURITY_HEADERS: list[Header] = [
    (b"x-content-type-options", b"nosniff"),  # a stored image is never read as a page or script
    (b"x-frame-options", b"DENY"),
]
FRAME_ANCESTORS: Header = (b"content-security-policy", b"frame-ancestors 'none'")
SET_HERE = frozenset({b"x-request-id", *(name for name, _ in SECURITY_HEADERS)})
PATH_SAFE = "/%:@!$&'()*+,;="  # what stays as it is in a redirect's path


class BodyTooLarge(HTTPException):
    """Raised while a body is read, so that the framework's error handling renders it."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyTooSlow(HTTPException):
    """The body did not arrive in time (a slow-loris upload): 408 `REQUEST_TIMEOUT`, and
    uvicorn closes the connection, whose body was not read whole. Raised while a body is
    read, like `BodyTooLarge`, so that the framework's error handling renders it."""

    def __init__(self) -> None:
        super().__init__(status_code=408)


PICKLE = "application/xminds-pkl"  # the Crossing Minds client's default serializer
USE_JSON = (
    "This server reads and writes JSON only, never pickle (unpickling runs whatever code "
    "the bytes name): create the client with CrossingMindsApiClient(serializer='json')."
)
JSON_RANGES = frozenset(("application/json", "application/problem+json", "application/*", "*/*"))


class PickleRefused(UnsupportedMediaType):
    code = "PICKLE_REFUSED"
    default_detail = USE_JSON


class PickleNotAcceptable(NotAcceptable):
    code = "PICKLE_NOT_ACCEPTABLE"
    default_detail = USE_JSON


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        larger_bodies: Sequence[tuple[re.Pattern[str], int]] = (),
        body_timeout: float = 60.0,
        trusted_hosts: Collection[str] = (),
        metrics: Metrics | None = None,
        traffic: Traffic | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.traffic = traffic
        self.max_body_bytes = max_body_bytes
        self.larger_bodies = larger_bodies
        self.body_timeout = body_timeout
        self.trusted_hosts = frozenset(host.lower() for host in trusted_hosts)
        self.smallest_limit = min([max_body_bytes, *(limit for _, limit in larger_bodies)])

    def _limit(self, path: str, size: int) -> int:
        """The body size limit of `path` when it matters, for a body of `size` bytes: the
        general one, or a route's own (images). Most requests fit the smallest, and the
        routes' patterns are not tried for them."""
        if size <= self.smallest_limit:
            return self.smallest_limit
        for pattern, limit in self.larger_bodies:
            if pattern.fullmatch(path):
                return limit
        return self.max_body_bytes

    def _headers(self, raw: Iterable[tuple[bytes, bytes]], info: RequestInfo) -> list[Header]:
        """A response's headers with the request's id, never sniffed nor framed (unless it
        sets its own policy), a redirect naming a host only when it is a trusted one, and
        the key's rate limit (a refusal has it already). Names are lower case (ASGI)."""
        headers = [(name, value) for name, value in raw if name not in SET_HERE]
        names = {name for name, _ in headers}
        headers.append((b"x-request-id", info.id.encode("latin-1")))
        headers += SECURITY_HEADERS
        if b"content-security-policy" not in names:
            headers.append(FRAME_ANCESTORS)
        if b"location" in names:
            headers = [
                (name, self._local(value) if name == b"location" else value)
                for name, value in headers
            ]
        if info.rate_limit is not None and b"ratelimit-limit" not in names:
            headers += info.rate_limit.raw_headers()
        return headers

    def _local(self, location: bytes) -> bytes:
        return local_redirect(location.decode("latin-1"), self.trusted_hosts).encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = RequestInfo(id=_request_id(scope), method=scope["method"], path=scope["path"])
        token = enter_request(info)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = self._headers(message.get("headers", ()), info)
            await send(message)

        received = 0
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        body_done = False

        async def receive_within_limit() -> Message:
            nonlocal received, body_done
            if body_done:  # what comes after the body (a disconnect) has no deadline
                return await receive()
            message: Message | None = None
            with suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            if message is None:  # raised here, not chained to the timeout: not an OSError
                raise BodyTooSlow
            body_done = message["type"] != "http.request" or not message.get("more_body")
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._limit(scope["path"], received):
                    raise BodyTooLarge
            return message

        try:
            if (refusal := _pickle_refusal(scope)) is not None:
                await problem_response(refusal)(scope, receive, send_with_id)
            elif (declared := _declared_length(scope)) > self._limit(scope["path"], declared):
                await problem_response(PayloadTooLarge())(scope, receive, send_with_id)
            else:
                await self.app(scope, receive_within_limit, send_with_id)
        except Exception as exc:
            problem = as_problem(exc)
            if isinstance(problem, ServerError):
                logger.exception("unhandled error", extra={"fields": _fields(info)})
            elif isinstance(problem, DatabaseUnavailable):
                fields = {**_fields(info), "error": repr(exc)}
                logger.warning("database unreachable", extra={"fields": fields})
            if not response_started:
                await problem_response(problem)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.request(info.method, _route(scope), status, info.database_id, elapsed)
            if self.traffic is not None and info.database_id is not None:
                self.traffic.record(info.database_id, info.api_key_id, status, elapsed)
            duration_ms = round(elapsed * 1000, 3)
            fields = {**_fields(info), "status": status, "duration_ms": duration_ms}
            logger.info("request", extra={"fields": fields})
            leave_request(token)


def _route(scope: Scope) -> str | None:
    """The template of the route that answered (as declared: `/v1/spaces/{space_id}`),
    under the path of the application it is mounted in, if any; None when none did."""
    route = scope.get("route")
    if route is None:
        return None
    path: str = route.path
    mounted = scope.get("root_path")
    return mounted + path if mounted else path


def local_redirect(location: str, trusted_hosts: frozenset[str]) -> str:
    """`location` as a path on this server, unless it names a trusted host. The absolute
    URLs of redirects (Starlette's `url_for`, its trailing-slash redirects) take their
    host from the request's Host header, which the client chooses."""
    parts = urlsplit(location)
    if not parts.netloc or parts.hostname in trusted_hosts:
        return location
    path = "/" + quote(parts.path, safe=PATH_SAFE).lstrip("/")  # "//host" names a host
    return urlunsplit(("", "", path, parts.query, parts.fragment))


def _fields(info: RequestInfo) -> dict[str, object]:
    return {
        "request_id": info.id,
        "method": info.method,
        "path": info.path,
        "database_id": info.database_id,
    }


# A request's own id: this process's random half and its count of requests (unique without
# a system call per request); a new process, a new half.
_PROCESS = os.urandom(8).hex()
_REQUESTS = itertools.count()


def _new_process() -> None:
    global _PROCESS, _REQUESTS
    _PROCESS, _REQUESTS = os.urandom(8).hex(), itertools.count()


os.register_at_fork(after_in_child=_new_process)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if REQUEST_ID.fullmatch(candidate):
                return candidate
    return f"{_PROCESS}{next(_REQUESTS):016x}"


def _pickle_refusal(scope: Scope) -> TenantryError | None:
    """415 for a body in pickle, 406 for a request that takes pickle and not JSON: refused
    before anything reads the body, which is never unpickled."""
    content_type = accept = ""
    has_body = False
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"accept":
            accept = value.decode("latin-1")
        elif name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            has_body = True
    if has_body and _media_type(content_type) == PICKLE:
        return PickleRefused()
    if accept:
        ranges = _accepted(accept)
        if PICKLE in ranges and not any(_is_json_range(media) for media in ranges):
            return PickleNotAcceptable()
    return None


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _accepted(accept: str) -> set[str]:
    """The media ranges of an Accept header, less those given `q=0`."""
    ranges = set()
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if media and _quality(params) > 0:
            ranges.add(media.lower())
    return ranges


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 1.0
    return 1.0


def _is_json_range(media: str) -> bool:
    return media in JSON_RANGES or (media.startswith("application/") and media.endswith("+json"))


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
