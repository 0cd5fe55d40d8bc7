"""JSON Web Tokens, per RFC 8725: HS256 only, explicit types, every claim checked.

Signing keys derive from the server secret; each has a `kid`, and tokens signed with a
previous secret (`TENANTRY_PREVIOUS_SECRET_KEYS`) stay valid while it is listed.
"""

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

from tenantry.ids import new_id

ALGORITHM = "HS256"
ISSUER = "tenantry"
AUDIENCE = "tenantry-api"
LEEWAY = timedelta(seconds=5)
REQUIRED = ["iss", "aud", "sub", "exp", "iat", "jti", "org", "role", "fam"]
STRING_CLAIMS = ("sub", "org", "role", "jti", "fam")  # and "db", a string or null
# The app's user and anonymous session a login named (`frontend_user_id`,
# `frontend_session_id`): a number or a string each, present only when named.
FRONTEND_CLAIMS = ("fuid", "fsid")
TokenType = Literal["access", "refresh"]
MEDIA_TYPE: dict[TokenType, str] = {"access": "at+jwt", "refresh": "rt+jwt"}

Clock = Callable[[], datetime]
FrontendId = int | str


def utcnow() -> datetime:
    return datetime.now(UTC)


class InvalidToken(Exception):
    pass


class ExpiredToken(InvalidToken):
    pass


@dataclass(frozen=True)
class Claims:
    account_id: str
    org_id: str
    role: str
    database_id: str | None
    jti: str
    family_id: str
    issued_at: datetime
    expires_at: datetime
    frontend_user_id: FrontendId | None = None
    frontend_session_id: FrontendId | None = None


@dataclass(frozen=True)
class Issued:
    token: str
    claims: Claims


def _signing_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"tenantry jwt signing key", hashlib.sha256).digest()


def _kid(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


class TokenService:
    def __init__(
        self,
        secret: str,
        previous_secrets: Sequence[str] = (),
        *,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._key = _signing_key(secret)
        self._kid = _kid(self._key)
        keys = [self._key, *(_signing_key(old) for old in previous_secrets)]
        self._keys = {_kid(key): key for key in keys}
        self.ttl: dict[TokenType, timedelta] = {"access": access_ttl, "refresh": refresh_ttl}
        self.clock = clock

    def issue(
        self,
        kind: TokenType,
        *,
        account_id: str,
        org_id: str,
        role: str,
        database_id: str | None,
        family_id: str,
        frontend_user_id: FrontendId | None = None,
        frontend_session_id: FrontendId | None = None,
    ) -> Issued:
        now = self.clock().replace(microsecond=0)
        claims = Claims(
            account_id=account_id,
            org_id=org_id,
            role=role,
            database_id=database_id,
            jti=new_id(),
            family_id=family_id,
            issued_at=now,
            expires_at=now + self.ttl[kind],
            frontend_user_id=frontend_user_id,
            frontend_session_id=frontend_session_id,
        )
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": account_id,
            "org": org_id,
            "role": role,
            "db": database_id,
            "jti": claims.jti,
            "fam": family_id,
            "iat": now,
            "exp": claims.expires_at,
        }
        frontend = zip(FRONTEND_CLAIMS, (frontend_user_id, frontend_session_id), strict=True)
        payload.update((name, value) for name, value in frontend if value is not None)
        headers = {"kid": self._kid, "typ": MEDIA_TYPE[kind]}
        token = jwt.encode(payload, self._key, algorithm=ALGORITHM, headers=headers)
        return Issued(token=token, claims=claims)

    def decode(self, token: str, kind: TokenType) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("malformed token") from error
        key = self._keys.get(str(header.get("kid")))
        if header.get("alg") != ALGORITHM or header.get("typ") != MEDIA_TYPE[kind] or key is None:
            raise InvalidToken("wrong token type or key")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": REQUIRED, "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        return self._checked(payload, kind)

    def _checked(self, payload: dict[str, Any], kind: TokenType) -> Claims:
        now = self.clock()
        try:
            issued_at = datetime.fromtimestamp(payload["iat"], UTC)
            expires_at = datetime.fromtimestamp(payload["exp"], UTC)
        except (TypeError, ValueError, OverflowError) as error:
            raise InvalidToken("bad timestamps") from error
        if issued_at > now + LEEWAY:
            raise InvalidToken("issued in the future")
        if expires_at <= now - LEEWAY:
            raise ExpiredToken("expired")
        strings = [payload[name] for name in STRING_CLAIMS]
        if not all(isinstance(value, str) for value in strings):
            raise InvalidToken("a claim that must be a string is not")
        database_id = payload.get("db")
        if database_id is not None and not isinstance(database_id, str):
            raise InvalidToken("db is neither a string nor null")
        frontend = [payload.get(name) for name in FRONTEND_CLAIMS]
        if not all(value is None or _frontend_id(value) for value in frontend):
            raise InvalidToken("a frontend id is neither a number nor a string")
        account_id, org_id, role, jti, family_id = strings
        return Claims(
            account_id=account_id,
            org_id=org_id,
            role=role,
            database_id=database_id,
            jti=jti,
            family_id=family_id,
            issued_at=issued_at,
            expires_at=expires_at,
            frontend_user_id=frontend[0],
            frontend_session_id=frontend[1],
        )


def _frontend_id(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
