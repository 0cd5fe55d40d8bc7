"""Registrations per client address: each one makes an organization, an account, a
database with its schema and a key, so an address may make only so many in a window
(`TENANTRY_REGISTRATION_LIMIT`), counted where the API keys' rate limits are."""

from typing import Any

from fastapi import Depends, Request

from tenantry.auth.errors import RegistrationThrottled
from tenantry.auth.rate_limits import RateLimiter
from tenantry.errors import PROBLEM_JSON

THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many registrations from this address lately "
        "(`REGISTRATION_THROTTLED`); see Retry-After.",
        "content": {PROBLEM_JSON: {}},
        "headers": {
            "Retry-After": {
                "description": "Seconds until the address may register again.",
                "schema": {"type": "integer"},
            }
        },
    }
}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def count_registration(request: Request) -> None:
    """Count a registration of the caller's address; past the limit, refuse it before
    anything else runs."""
    limiter: RateLimiter | None = request.app.state.registration_limiter
    if limiter is None:
        return
    usage = await limiter.hit(client_address(request))
    if usage is not None and not usage.allowed:
        raise RegistrationThrottled(usage)


RegistrationThrottle = Depends(count_registration)
