import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tenantry.auth.tokens import TokenService, utcnow

PASSWORD = "correct horse battery staple"


@dataclass
class Registration:
    email: str
    body: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.body["token"])

    @property
    def api_key(self) -> str:
        return str(self.body["api_key"])

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(client: httpx.AsyncClient, local: str = "user") -> Registration:
    email = f"{local}.{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post("/v1/register/", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return Registration(email=email, body=response.json())


@pytest.fixture
async def registered(client: httpx.AsyncClient) -> Registration:
    return await register(client)


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    tokens: TokenService = app.state.tokens
    original = tokens.clock
    tokens.clock = clock = Clock()
    yield clock
    tokens.clock = original
