from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from tenantry.auth.tokens import TokenService
from tests.utils.clock import Clock
from tests.utils.factories import Registration, register
from tests.utils.mail import MailBox
from tests.utils.worker import PausedWorker


@pytest.fixture
async def registered(client: httpx.AsyncClient) -> Registration:
    return await register(client)


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    tokens: TokenService = app.state.tokens
    original = tokens.clock
    tokens.clock = clock = Clock()
    yield clock
    tokens.clock = original


@pytest.fixture
async def paused_worker(app: FastAPI) -> AsyncIterator[PausedWorker]:
    """The app's worker, stopped for the test (until `resume()`) and running after it."""
    handle = PausedWorker(app)
    await handle.pause()
    yield handle
    handle.resume()
    vars(handle.worker).pop("max_attempts", None)
    vars(handle.worker).pop("backoff", None)


@pytest.fixture
def mailbox(app: FastAPI) -> Iterator[MailBox]:
    original = app.state.mail_sender
    app.state.mail_sender = box = MailBox()
    yield box
    app.state.mail_sender = original
