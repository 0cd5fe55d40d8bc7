"""Organizations and timed requests over real HTTP, for tests against a `tenantry serve`."""

import math
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from tests.utils.factories import PASSWORD, Registration

WRONG_PASSWORD = "not-the-password"


def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: str
) -> Awaitable[httpx.Response]:
    return client.post("/v1/login/individual/", json={"email": email, "password": password} | extra)


def wait_until_ready(base: str, headers: dict[str, str], within: float = 30) -> None:
    """Poll the server at `base` until the caller's database is ready."""
    deadline = time.monotonic() + within
    status = f"{base}/v1/databases/current/status/"
    while httpx.get(status, headers=headers).json() != {"status": "ready"}:
        assert time.monotonic() < deadline, "the database did not become ready"
        time.sleep(0.2)  # well inside the default rate limit, however long it takes


def registered_at(base: str, email: str) -> Registration:
    """Register an organization on the server at `base`; once its database is ready."""
    response = httpx.post(
        f"{base}/v1/register/", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 201, response.text
    registration = Registration(email=email, body=response.json())
    wait_until_ready(base, registration.key)
    return registration


def ready_key(base: str, email: str) -> str:
    """Register an organization on the server at `base`; its API key, once its database
    is ready."""
    return registered_at(base, email).api_key


@dataclass(frozen=True)
class Timed:
    """An answer's status and how long it took, in seconds."""

    status: int
    seconds: float
    body: Any

    def __repr__(self) -> str:
        return f"{self.status} in {self.seconds:.2f} s"


async def timed(request: Awaitable[httpx.Response]) -> Timed:
    started = time.perf_counter()
    response = await request
    elapsed = time.perf_counter() - started
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Timed(response.status_code, elapsed, body)


def summary(answers: Sequence[Timed]) -> str:
    """Answers by status, with the slowest of each: `1 x 200 (0.07 s), 7 x 500 (30.20 s)`."""
    statuses = sorted({answer.status for answer in answers})
    return ", ".join(
        f"{sum(a.status == status for a in answers)} x {status} "
        f"({max(a.seconds for a in answers if a.status == status):.2f} s)"
        for status in statuses
    )


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest sample not below `fraction` of them."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
