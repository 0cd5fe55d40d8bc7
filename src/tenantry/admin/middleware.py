"""The admin panel's outermost layer: who is logged in, and CSRF.

Every request under /admin is resolved to its session (`sessions.resolve`), and the
identity is current for the request (`sessions.current_admin`). A request with an unsafe
method must come from this site (its `Origin`, else its `Referer`, names this host) and
carry the session's CSRF token, in the `X-CSRF-Token` header or the form field
`csrf_token`; the login form carries the token of its own cookie instead. Otherwise it is
refused with 403 before anything runs.
"""

import hmac
from dataclasses import replace
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.admin import sessions
from tenantry.admin.sessions import AdminIdentity
from tenantry.auth.tokens import utcnow
from tenantry.config import Settings
from tenantry.middleware import BodyTooLarge

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_COOKIE = "tenantry_admin_login"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class AdminSessionMiddleware:
    def __init__(self, app: ASGIApp, *, tenantry: FastAPI) -> None:
        self.app = app
        self.tenantry = tenantry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope).startswith("/statics/"):
            await self.app(scope, receive, send)
            return
        identity = await self._identity(Request(scope))
        if identity is not None and (client := scope.get("client")):
            identity = replace(identity, address=client[0])
        scope.setdefault("state", {})["admin"] = identity
        if scope["method"] not in SAFE_METHODS:
            try:
                receive, refusal = await _check_csrf(scope, receive, identity)
            except BodyTooLarge:
                refusal = PlainTextResponse("The request body is too large.", status_code=413)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        reset = sessions._current.set(identity)
        try:
            await self.app(scope, receive, send)
        finally:
            sessions._current.reset(reset)

    async def _identity(self, request: Request) -> AdminIdentity | None:
        token = request.cookies.get(sessions.COOKIE)
        if not token or len(token) > 100:
            return None
        settings: Settings = self.tenantry.state.settings
        return await sessions.resolve(
            self.tenantry.state.engine, token, now=utcnow(), idle=settings.admin_session_idle
        )


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _forbidden(reason: str) -> Response:
    return PlainTextResponse(f"Forbidden: {reason}", status_code=403)


async def _check_csrf(
    scope: Scope, receive: Receive, identity: AdminIdentity | None
) -> tuple[Receive, Response | None]:
    """The request's `receive` (replaying a body read here) and a refusal, or None."""
    request = Request(scope)
    if not _same_origin(request):
        return receive, _forbidden("the request does not come from this site.")
    if _route_path(scope) == "/login":
        expected = request.cookies.get(LOGIN_COOKIE)
    else:
        expected = identity.csrf_token if identity is not None else None
    if not expected:
        return receive, _forbidden("no session to check this request against; log in again.")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        receive, sent = await _form_token(scope, receive)
    if sent is None or not hmac.compare_digest(sent.encode(), expected.encode()):
        return receive, _forbidden("the CSRF token is missing or wrong; reload the page.")
    return receive, None


def _same_origin(request: Request) -> bool:
    """Whether the browser says the request comes from a page of this host. Clients that
    send neither header (not browsers) are judged by the token alone."""
    own = request.url.netloc
    origin = request.headers.get("origin")
    if origin is not None:
        return urlsplit(origin).netloc == own
    referer = request.headers.get("referer")
    if referer is not None:
        return urlsplit(referer).netloc == own
    return True


async def _form_token(scope: Scope, receive: Receive) -> tuple[Receive, str | None]:
    """The `csrf_token` field of a form body; the body is read here and replayed."""
    content_type = Request(scope).headers.get("content-type", "").lower()
    if not content_type.startswith(FORMS):
        return receive, None
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replay = _replaying(body, receive)
    form = await Request(scope, _replaying(body, receive)).form()
    try:
        value = form.get(CSRF_FIELD)
    finally:
        await form.close()
    return replay, value if isinstance(value, str) else None


def _replaying(body: bytes, receive: Receive) -> Receive:
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
