"""What can go wrong when a caller proves who they are."""

from tenantry.errors import Conflict, Forbidden, TooManyRequests, Unauthorized
from tenantry.kernel.rate_limits import Usage

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tenantry"'}


class InvalidCredentials(Unauthorized):
    code = "INVALID_CREDENTIALS"
    default_detail = "The credentials are not valid."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers=CHALLENGE)


class LoginEnded(InvalidCredentials):
    default_detail = "This login has ended (logged out, or its refresh token was reused)."


class AuthenticationRequired(Unauthorized):
    code = "AUTHENTICATION_REQUIRED"
    default_detail = "Send an access token (Authorization: Bearer) or an API key (X-API-Key)."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers=CHALLENGE)


class TokenExpired(Unauthorized):
    code = "TOKEN_EXPIRED"
    error_code = 22
    error_name = "JwtTokenExpired"
    default_detail = "The access token has expired; refresh it."


class RefreshTokenExpired(Unauthorized):
    code = "REFRESH_TOKEN_EXPIRED"
    error_code = 28
    error_name = "RefreshTokenExpired"
    default_detail = "The refresh token has expired; log in again."


class ApiKeyExpired(Unauthorized):
    code = "API_KEY_EXPIRED"
    default_detail = "The API key has expired."


class CredentialsMismatch(Forbidden):
    code = "CREDENTIALS_MISMATCH"
    default_detail = "The access token and the API key belong to different organizations."


class RoleForbidden(Forbidden):
    code = "ROLE_FORBIDDEN"
    default_detail = "Your role may not do this."


class PublicSchemaReadOnly(Forbidden):
    code = "PUBLIC_SCHEMA_READ_ONLY"
    default_detail = "The public template is read-only; send credentials to write."


class DatabaseNotReady(Conflict):
    code = "DATABASE_NOT_READY"
    error_code = 1
    error_name = "ServerUnavailable"
    default_detail = "The database is not ready yet."


class NoDatabaseSelected(Forbidden):
    code = "NO_DATABASE_SELECTED"
    default_detail = "Log in to a database (db_id) or use a database's API key."


class LoginThrottled(TooManyRequests):
    code = "LOGIN_THROTTLED"
    default_detail = "Too many failed logins; retry later."


class RateLimitExceeded(TooManyRequests):
    code = "RATE_LIMIT_EXCEEDED"
    default_detail = "Too many requests with this API key; retry later."

    def __init__(self, usage: Usage) -> None:
        super().__init__(
            f"This API key may make {usage.limit} requests in {usage.window} s; "
            f"retry in {usage.reset} s.",
            data={"retry_after": usage.reset},
            headers={"Retry-After": str(usage.reset), **usage.headers()},
        )


class RegistrationThrottled(TooManyRequests):
    code = "REGISTRATION_THROTTLED"
    default_detail = "Too many registrations from this address; retry later."

    def __init__(self, usage: Usage) -> None:
        super().__init__(
            f"An address may register {usage.limit} organizations in {usage.window} s; "
            f"retry in {usage.reset} s.",
            data={"retry_after": usage.reset},
            headers={"Retry-After": str(usage.reset)},
        )
