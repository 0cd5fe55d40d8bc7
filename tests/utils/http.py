"""Accounts and timed requests over real HTTP, for tests against a `tenantry serve`."""

import math
import time
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "p" * 12  # what `tests.e2e.conftest.ready_key` registers with
WRONG_PASSWORD = "not-the-password"


def unique_email(label: str) -> str:
    return f"{label}.{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: httpx.AsyncClient, label: str) -> dict[str, Any]:
    """A new organization: the registration's answer, with the `email` it was made with."""
    email = unique_email(label)
    response = await client.post("/v1/register/", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return dict(response.json()) | {"email": email}


def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: str
) -> Awaitable[httpx.Response]:
    return client.post("/v1/login/individual/", json={"email": email, "password": password} | extra)


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
