"""Who is calling: the `AuthContext` every router depends on.

Resolution fails closed: no credentials is the anonymous reader of the template; any
credential that does not fully check out is a 401, never a fall-through to anonymous.
"""

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from tenantry.auth import api_keys
from tenantry.auth.cache import AuthCache, Entry
from tenantry.auth.errors import (
    ApiKeyExpired,
    AuthenticationRequired,
    CredentialsMismatch,
    InvalidCredentials,
    LoginEnded,
    RateLimitExceeded,
    RoleForbidden,
    TokenExpired,
)
from tenantry.auth.rate_limits import RateLimiter
from tenantry.auth.tokens import Claims, ExpiredToken, FrontendId, InvalidToken, TokenService
from tenantry.context import current_request
from tenantry.db.migrate import head
from tenantry.db.sessions import after_commit, fetch_one
from tenantry.errors import PROBLEM_JSON
from tenantry.kernel.enums import DatabaseStatus, Role
from tenantry.models.control import Database

ROLE_RANK = {Role.FRONTEND: 0, Role.BACKEND: 1, Role.MANAGER: 2, Role.ROOT: 3}

bearer_scheme = HTTPBearer(auto_error=False, description="Access token from a login.")
x_api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="X-API-Key")
api_key_scheme = APIKeyHeader(name="Api-Key", auto_error=False, scheme_name="Api-Key")


@dataclass(frozen=True)
class DatabaseRef:
    id: str
    org_id: str
    name: str
    schema_name: str
    status: str
    schema_version: str | None = None
    item_id_type: str = "uuid"
    user_id_type: str = "uuid"
    session_id_type: str = "uuid"
    livemode: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "DatabaseRef":
        """From a driver row holding `DATABASE_COLUMNS`."""
        return cls(
            row["database_id"],
            row["database_org_id"],
            row["name"],
            row["schema_name"],
            row["status"],
            row["version"],
            row["item_id_type"],
            row["user_id_type"],
            row["session_id_type"],
            row["livemode"],
        )

    @classmethod
    def of(cls, database: Database, schema_version: str | None = None) -> "DatabaseRef":
        return cls(
            database.id,
            database.org_id,
            database.name,
            database.schema_name,
            database.status,
            schema_version,
            database.item_id_type,
            database.user_id_type,
            database.session_id_type,
            database.livemode,
        )


@dataclass(frozen=True)
class AuthContext:
    org_id: str | None = None
    account_id: str | None = None
    api_key_id: str | None = None
    role: Role | None = None
    database: DatabaseRef | None = None
    key_owner_id: str | None = None  # a key's: the account it acts for, if any
    # a token's: the app's user and anonymous session its login named, if any
    frontend_user_id: FrontendId | None = None
    frontend_session_id: FrontendId | None = None

    @property
    def acting_account_id(self) -> str | None:
        """The account behind the caller: its own, or its key's owner."""
        return self.account_id or self.key_owner_id

    @property
    def anonymous(self) -> bool:
        return self.role is None


ANONYMOUS = AuthContext()


def token_service(request: Request) -> TokenService:
    service: TokenService = request.app.state.tokens
    return service


def auth_cache(request: Request) -> AuthCache:
    cache: AuthCache = request.app.state.auth_cache
    return cache


def forget(request: Request, tag: str) -> None:
    """Drop what this process remembers of credentials built on `tag` (a database, an
    account) once the request commits; other processes hear of it by NOTIFY."""
    after_commit(request, lambda: auth_cache(request).invalidate(tag))


async def _from_token(request: Request, tokens: TokenService, token: str) -> AuthContext:
    try:
        claims = tokens.decode(token, "access")
    except ExpiredToken as error:
        raise TokenExpired from error
    except InvalidToken as error:
        raise InvalidCredentials("The access token is not valid.") from error
    context = await _of_account(request, claims)
    if claims.frontend_user_id is None and claims.frontend_session_id is None:
        return context
    return replace(
        context,
        frontend_user_id=claims.frontend_user_id,
        frontend_session_id=claims.frontend_session_id,
    )


async def _of_account(request: Request, claims: Claims) -> AuthContext:
    """The caller a token's account and database make (remembered for every login of the
    account to that database); the login's frontend ids are the token's own."""
    cache = auth_cache(request)
    if cache.ended(claims.family_id):
        raise LoginEnded
    credential = ("token", claims.org_id, claims.account_id, claims.database_id)
    if (entry := cache.get(credential)) is not None:
        return entry.context
    generation = cache.generation
    row = await fetch_one(  # the account, the token's database if it names one, and
        # whether the login was ended: one round trip
        request.app.state.engine,
        TOKEN_LOOKUP,
        claims.account_id,
        claims.org_id,
        claims.family_id,
        claims.database_id,
    )
    if row is None:
        raise InvalidCredentials("The account of this token no longer exists.")
    if row["ended"]:
        raise LoginEnded
    database = None
    if claims.database_id is not None:
        if row["database_id"] is None:
            raise InvalidCredentials("The database of this token no longer exists.")
        database = DatabaseRef.from_row(row)
    context = AuthContext(
        org_id=claims.org_id,
        account_id=claims.account_id,
        role=Role(row["role"]),
        database=database,
    )
    if _cacheable(context):
        cache.put(
            credential, context, generation=generation, tags=_tags(context, claims.account_id)
        )
    return context


async def _from_key(request: Request, tokens: TokenService, key: str) -> AuthContext:
    prefix = api_keys.parse(key)
    if prefix is None:
        raise InvalidCredentials("The API key is not valid.")
    cache = auth_cache(request)
    credential = ("key", prefix)
    entry = cache.get(credential)
    if entry is None:
        entry = await _load_key(request, prefix)
    assert entry.secret_hash is not None
    if not api_keys.matches(key, entry.secret_hash):
        raise InvalidCredentials("The API key is not valid.")
    if entry.expires_at is not None and entry.expires_at <= tokens.clock():
        raise ApiKeyExpired
    assert entry.context.api_key_id is not None
    await _count(request, entry.context.api_key_id)
    request.app.state.last_used.touch(entry.context.api_key_id)
    return entry.context


async def _count(request: Request, key_id: str) -> None:
    """Count the request against its key's rate limit, once however often it is
    authenticated (a hot read that ends in an error is authenticated again); past the
    limit, refuse it before anything runs."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is None:
        return
    info = current_request()
    usage = info.rate_limit if info is not None else None
    if usage is None:
        usage = await limiter.hit(key_id)
        if usage is None:
            return
        if info is not None:
            info.rate_limit = usage
    if not usage.allowed:
        raise RateLimitExceeded(usage)


# A credential's database, as `DatabaseRef.from_row` reads it: `d` the database, `s` its
# schema's row.
DATABASE_COLUMNS = """
    d.id AS database_id, d.org_id AS database_org_id, d.name, d.schema_name, d.status,
    d.item_id_type, d.user_id_type, d.session_id_type, d.livemode, s.version
"""
KEY_LOOKUP = f"""
    SELECT k.id, k.org_id, k.role, k.account_id, k.secret_hash, k.expires_at, k.revoked_at,
           a.role AS owner_role, {DATABASE_COLUMNS}
    FROM tenantry.api_keys k
    JOIN tenantry.databases d ON d.id = k.database_id
    LEFT JOIN tenantry.accounts a ON a.id = k.account_id
    LEFT JOIN tenantry.schemas s ON s.name = d.schema_name
    WHERE k.prefix = $1
"""  # noqa: S608  (no input in the text)
TOKEN_LOOKUP = f"""
    SELECT a.role, {DATABASE_COLUMNS}, EXISTS (
        SELECT FROM tenantry.refresh_tokens r WHERE r.family_id = $3 AND r.revoked_at IS NOT NULL
    ) AS ended
    FROM tenantry.accounts a
    LEFT JOIN tenantry.databases d ON d.id = $4 AND d.org_id = a.org_id
    LEFT JOIN tenantry.schemas s ON s.name = d.schema_name
    WHERE a.id = $1 AND a.org_id = $2
"""  # noqa: S608  (no input in the text)


async def _load_key(request: Request, prefix: str) -> Entry:
    """The key of `prefix` from the database (one statement), remembered for next time."""
    cache = auth_cache(request)
    generation = cache.generation
    row = await fetch_one(request.app.state.engine, KEY_LOOKUP, prefix)
    if row is None:
        raise InvalidCredentials("The API key is not valid.")
    if row["revoked_at"] is not None:
        raise InvalidCredentials("The API key was revoked.")
    database = DatabaseRef.from_row(row)
    context = AuthContext(
        org_id=row["org_id"],
        api_key_id=row["id"],
        role=_capped(Role(row["role"]), row["owner_role"]),
        database=database,
        key_owner_id=row["account_id"],
    )
    entry = Entry(context, row["secret_hash"], row["expires_at"], fresh_until=0)
    if not _cacheable(context):
        return entry
    cache.put(
        ("key", prefix),
        context,
        generation=generation,
        tags=_tags(context, row["account_id"]),
        secret_hash=row["secret_hash"],
        expires_at=row["expires_at"],
    )
    return entry


def _cacheable(context: AuthContext) -> bool:
    """Only a database that is ready and at head is remembered: becoming ready (or migrated)
    then needs no notice to be seen at once, and only a step back (delete, revoke, demote)
    has to be told, by the triggers' NOTIFY."""
    database = context.database
    return database is None or (
        database.status == DatabaseStatus.READY and database.schema_version == head("tenant")
    )


def _tags(context: AuthContext, account_id: str | None) -> list[str]:
    """What an entry is built from: a change to any of these drops it."""
    tags = [account_id] if account_id is not None else []
    if context.database is not None:
        tags += [context.database.id, context.database.schema_name]
    return tags


def _capped(role: Role, owner_role: str | None) -> Role:
    """A key never acts above its owner's current role."""
    if owner_role is None:
        return role
    return min(role, Role(owner_role), key=ROLE_RANK.__getitem__)


def _combine(by_token: AuthContext, by_key: AuthContext) -> AuthContext:
    """A token and a key together: same organization, same database, the lesser role."""
    if by_token.org_id != by_key.org_id:
        raise CredentialsMismatch
    if by_token.database is not None and (
        by_key.database is None or by_key.database.id != by_token.database.id
    ):
        raise CredentialsMismatch("The access token and the API key name different databases.")
    assert by_token.role is not None
    assert by_key.role is not None
    role = min(by_token.role, by_key.role, key=ROLE_RANK.__getitem__)
    return replace(by_token, api_key_id=by_key.api_key_id, role=role, database=by_key.database)


async def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    x_api_key: Annotated[str | None, Depends(x_api_key_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> AuthContext:
    if "authorization" in request.headers and bearer is None:
        raise InvalidCredentials("Use `Authorization: Bearer <access token>`.")
    if x_api_key is not None and api_key is not None and x_api_key != api_key:
        raise InvalidCredentials("X-API-Key and Api-Key hold different keys.")
    tokens = token_service(request)
    key = x_api_key or api_key
    by_token = await _from_token(request, tokens, bearer.credentials) if bearer else None
    by_key = await _from_key(request, tokens, key) if key else None
    if by_token is not None and by_key is not None:
        return _noted(_combine(by_token, by_key))
    return _noted(by_token or by_key or ANONYMOUS)


async def authenticate_key(request: Request, key: str) -> AuthContext:
    """Who calls with `key` and nothing else: `authenticate`'s answer for that case."""
    return _noted(await _from_key(request, token_service(request), key))


def _noted(context: AuthContext) -> AuthContext:
    info = current_request()
    if info is not None and context.database is not None:
        info.database_id = context.database.id  # for the log line and error bodies
        info.api_key_id = context.api_key_id  # for the traffic per key
    return context


Caller = Annotated[AuthContext, Depends(authenticate)]

RATE_LIMITED: dict[str, Any] = {
    "description": "Too many requests with this API key (`RATE_LIMIT_EXCEEDED`).",
    "content": {PROBLEM_JSON: {}},
    "headers": {
        name: {"description": description, "schema": {"type": "integer"}}
        for name, description in (
            ("Retry-After", "Seconds until the window ends."),
            ("RateLimit-Limit", "Requests a window allows."),
            ("RateLimit-Remaining", "Requests left in the window."),
            ("RateLimit-Reset", "Seconds until the window ends."),
        )
    },
}


def document_rate_limit(routes: Iterable[BaseRoute]) -> None:
    """Name 429 among the answers of every route that takes an API key."""
    for route in routes:
        if isinstance(route, APIRoute) and _authenticates(route.dependant):
            route.responses.setdefault(429, RATE_LIMITED)


def _authenticates(dependant: Dependant) -> bool:
    return any(d.call is authenticate or _authenticates(d) for d in dependant.dependencies)


def allow(*roles: Role) -> Callable[[AuthContext], Awaitable[AuthContext]]:
    """A dependency that lets only callers with one of `roles` through."""

    async def check(context: Caller) -> AuthContext:
        if context.role is None:
            raise AuthenticationRequired
        if context.role not in roles:
            raise RoleForbidden(f"Allowed roles: {', '.join(roles)}.")
        return context

    return check


RootOrManager = Annotated[AuthContext, Depends(allow(Role.ROOT, Role.MANAGER))]
BackendOrAbove = Annotated[AuthContext, Depends(allow(Role.ROOT, Role.MANAGER, Role.BACKEND))]
AnyRole = Annotated[AuthContext, Depends(allow(*Role))]
