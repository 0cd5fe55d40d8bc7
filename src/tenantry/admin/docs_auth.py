"""The API docs page, already authorised for whoever is logged in to the admin panel.

The page gets an access token of the admin session's account and database (the API's
own bearer token, 5 minutes), which Swagger UI then sends with every "Try it out"; reload
the page for a fresh one. The API itself takes no cookie: a cross-site request can't
borrow the admin session, and the page holding the token is sent with `no-store`.
"""

import json

from starlette.requests import Request

from tenantry.admin import sessions
from tenantry.auth.tokens import TokenService, utcnow
from tenantry.config import Settings
from tenantry.ids import new_id

# Swagger UI can only authorise a scheme once it has read the document naming it.
PREAUTHORIZE = """<script>
(function () {{
  var token = {token}, tries = 0;
  var wait = setInterval(function () {{
    tries += 1;
    var done = typeof ui !== "undefined" && ui.preauthorizeApiKey("{scheme}", token);
    if (done || tries > 400) {{ clearInterval(wait); }}
  }}, 25);
}})();
</script>
"""
BEARER_SCHEME = "HTTPBearer"


async def session_access_token(request: Request) -> str | None:
    """An access token for the admin session of the request's cookie, or None."""
    cookie = request.cookies.get(sessions.COOKIE)
    if not cookie or len(cookie) > 100:
        return None
    settings: Settings = request.app.state.settings
    identity = await sessions.resolve(
        request.app.state.engine, cookie, now=utcnow(), idle=settings.admin_session_idle
    )
    if identity is None:
        return None
    tokens: TokenService = request.app.state.tokens
    issued = tokens.issue(
        "access",
        account_id=identity.account_id,
        org_id=identity.org_id,
        role=identity.role,
        database_id=identity.database.id,
        family_id=new_id(),  # no refresh token: nothing to rotate or revoke
    )
    return issued.token


def preauthorize(page: bytes, token: str) -> bytes:
    """The Swagger UI page, authorised with `token` once it has loaded the document."""
    script = PREAUTHORIZE.format(token=json.dumps(token), scheme=BEARER_SCHEME)
    return page.replace(b"</body>", script.encode() + b"</body>", 1)
