"""What keeps the anonymous auth routes from crowding out everyone else.

Registrations per client address: each one makes an organization, an account, a database
with its schema and a key, so an address may make only so many in a window
(`TENANTRY_REGISTRATION_LIMIT`), counted where the API keys' rate limits are.

Turns: registrations, logins and refreshes are worked on a few at a time (as many as the
control plane has connections), the waiting served one client address at a time. A burst
from one address then waits behind itself, and the event loop is never shared among a
burst's hundreds of requests at once, which would slow every other request of the process
(the hot reads included) while each waits for its next turn on the loop.
"""

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, Request

from tenantry.auth.errors import RegistrationThrottled
from tenantry.auth.rate_limits import RateLimiter
from tenantry.errors import PROBLEM_JSON
from tenantry.fair import FairGate

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


async def take_turn(request: Request) -> AsyncIterator[None]:
    gate: FairGate = request.app.state.auth_turns
    async with gate.slot(client_address(request)):
        yield


AuthTurn = Depends(take_turn, scope="function")
