"""The HTTP protocol of `tenantry serve`: uvicorn's (httptools), with two bounds that
uvicorn lacks.

- A request's head (request line and headers) must arrive within `header_timeout` seconds
  of the connection's start, or of the previous answer on a kept-alive connection. A
  slower one is answered 408 and closed; a connection that sent nothing is closed without
  an answer (a browser may hold an unused connection open, and would take an answer it did
  not ask for as the answer to its next request).
- Past `max_connections` open connections, a new one's first request is answered 503 by
  the server itself, before the application, and the connection closed.

And a request that cannot be parsed as HTTP is answered 400 as a problem (uvicorn's own
answer is plain text), with a request id, and the connection closed.

Both are per connection, on the event loop: one timer per connection that waits for a
head, armed and cancelled as uvicorn arms its keep-alive timer.
"""

import asyncio
import contextvars
import logging
import math
import os
import time
from functools import partial
from http import HTTPStatus
from typing import Any, ClassVar, cast

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from tenantry.errors import (
    PROBLEM_JSON,
    BadRequest,
    RequestTimeout,
    TooManyConnections,
    problem_response,
)

logger = logging.getLogger("tenantry.connections")
WARN_EVERY = 60.0  # seconds between two warnings that connections are refused


class TenantryProtocol(HttpToolsProtocol):
    warned_at: ClassVar[float] = -math.inf  # when refusals were last logged

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float,
        max_connections: int,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_begun = False  # some of the awaited head has arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.app = _refuse
            self._warn_refusing()
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.head_timer is not None:
            self.head_begun = True
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._head_arrived()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        idle = not self.pipeline  # else the next request, whose head is here, starts now
        super().on_response_complete()
        if idle and not self.transport.is_closing():
            self._await_head()

    def _await_head(self) -> None:
        self._head_arrived()
        self.head_begun = False
        # In a context of its own, not the previous request's (whose answer armed it).
        self.head_timer = self.loop.call_later(
            self.header_timeout, self._head_too_slow, context=contextvars.Context()
        )

    def _head_arrived(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_too_slow(self) -> None:
        """No request is running (the timer waits only between requests): the connection
        is ours to answer."""
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.head_begun:
            logger.info("request head timed out", extra={"fields": {"client": self.client}})
            self.transport.write(self._raw(problem_response(HEAD_TIMEOUT)))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """What cannot be parsed as HTTP: a problem, as every error is, not uvicorn's text."""
        request_id = os.urandom(16).hex()
        body = NOT_HTTP.body() | {"request_id": request_id}
        response = JSONResponse(
            body, status_code=400, headers={"X-Request-Id": request_id}, media_type=PROBLEM_JSON
        )
        self.transport.write(self._raw(response))
        self.transport.close()

    def _warn_refusing(self) -> None:
        now = time.monotonic()
        if now - TenantryProtocol.warned_at >= WARN_EVERY:
            TenantryProtocol.warned_at = now
            logger.warning(
                "too many connections: new ones are refused",
                extra={"fields": {"open_connections": len(self.connections)}},
            )

    def _raw(self, response: Response) -> bytes:
        status = response.status_code
        lines = [b"HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase.encode())]
        headers = [*self.server_state.default_headers, *response.raw_headers]
        lines += [b"%s: %s" % header for header in headers]
        return b"\r\n".join([*lines, b"connection: close", b"", response.body])


NOT_HTTP = BadRequest(
    "The request could not be read as HTTP: its line or headers are malformed or too long."
)
HEAD_TIMEOUT = RequestTimeout("The request's head (its line and headers) did not arrive in time.")


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await problem_response(TooManyConnections())(scope, receive, send)


def protocol(*, header_timeout: float, max_connections: int) -> type[asyncio.Protocol]:
    """What `uvicorn.run(http=...)` takes: the class, with its bounds (a partial, which
    worker processes receive pickled)."""
    configured = partial(
        TenantryProtocol, header_timeout=header_timeout, max_connections=max_connections
    )
    return cast("type[asyncio.Protocol]", configured)
