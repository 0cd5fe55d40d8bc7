"""What is known about the request being served, for logs and error bodies."""

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenantry.kernel.rate_limits import Usage


@dataclass
class RequestInfo:
    id: str
    method: str
    path: str
    database_id: str | None = None
    api_key_id: str | None = None  # the caller's, when it sent one
    rate_limit: "Usage | None" = None  # the API key's, once counted; sent in the headers
    control_connections: int = 0  # held now: at most one (`tenantry.db.sessions`)


_current: ContextVar[RequestInfo | None] = ContextVar("tenantry_request", default=None)


def current_request() -> RequestInfo | None:
    return _current.get()


def enter_request(info: RequestInfo) -> object:
    return _current.set(info)


def leave_request(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
