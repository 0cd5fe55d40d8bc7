"""Keyset pagination with opaque, tamper-proof cursors.

A cursor names the last row of a page by its sort key, `(created_at, id)`, and is signed
with a key derived from the server secret and bound to one list, so it cannot be forged,
edited or carried to another list. A page never skips or repeats a row because rows were
added or deleted since the previous page: the next page starts strictly after the key.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple

from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import QueryableAttribute

from tenantry.auth.context import Caller
from tenantry.errors import BadRequest

MAX_CURSOR_LENGTH = 512
CURSOR_KEY = b"tenantry cursor key"
MAC_BYTES = 16
MAX_LIMIT = 100
T = TypeVar("T")
Ts = TypeVarTuple("Ts")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`meta.next_cursor` of the previous page."),
]


class InvalidCursor(BadRequest):
    code = "INVALID_CURSOR"
    default_detail = "The cursor is not one this list gave out; start again without it."

    def __init__(self) -> None:
        super().__init__(errors={"cursor": ["Not a cursor of this list."]})


class Meta(BaseModel):
    next_cursor: str | None
    has_more: bool


class Page(BaseModel, Generic[T]):
    data: list[T]
    meta: Meta


class Cursors:
    """Signs and reads the cursors of one server (one secret), for one database's lists
    once `bound` to it."""

    def __init__(self, secret: str, *, key: bytes | None = None, database: str = "") -> None:
        self._key = key or hmac.new(secret.encode(), CURSOR_KEY, hashlib.sha256).digest()
        self._database = database

    def bound(self, database: str | None) -> "Cursors":
        """The cursors of `database`'s lists (None: the template's)."""
        return Cursors("", key=self._key, database=database or "")

    def _mac(self, scope: str, payload: bytes) -> bytes:
        """Bound to the list (`scope`) and to the database: a cursor of another database's
        list is not one of this list."""
        message = scope.encode() + b"\0" + self._database.encode() + b"\0" + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()[:MAC_BYTES]

    def encode(self, scope: str, created_at: datetime, row_id: object) -> str:
        return self.encode_key(scope, created_at.isoformat(), str(row_id))

    def decode(
        self, scope: str, cursor: str | None, id_type: Callable[[str], Any] = str
    ) -> tuple[datetime, Any] | None:
        """The key a cursor names (None for the first page); InvalidCursor if not ours."""
        key = self.decode_key(scope, cursor, 2)
        if key is None:
            return None
        try:
            return datetime.fromisoformat(key[0]), id_type(key[1])
        except (ValueError, TypeError) as error:
            raise InvalidCursor from error

    def encode_key(self, scope: str, *parts: str) -> str:
        """A cursor naming a key of `parts`."""
        raw = json.dumps(parts, separators=(",", ":")).encode()
        return _b64(raw) + "." + _b64(self._mac(scope, raw))

    def decode_key(self, scope: str, cursor: str | None, size: int) -> tuple[str, ...] | None:
        """The key of `size` parts a cursor names (None for the first page)."""
        if cursor is None:
            return None
        try:
            payload_part, mac_part = cursor.split(".")
            raw = _unb64(payload_part)
            if not hmac.compare_digest(_unb64(mac_part), self._mac(scope, raw)):
                raise InvalidCursor
            parts = json.loads(raw)
        except (ValueError, TypeError) as error:
            raise InvalidCursor from error
        if not isinstance(parts, list) or len(parts) != size:
            raise InvalidCursor
        if not all(isinstance(part, str) for part in parts):
            raise InvalidCursor
        return tuple(parts)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def _signer(request: Request, caller: Caller) -> Cursors:
    server: Cursors = request.app.state.cursors
    return server.bound(caller.database.id if caller.database else None)


Signer = Annotated[Cursors, Depends(_signer)]
"""The cursors of the caller's database's lists."""


def after(
    query: Select[*Ts],
    created_at: ColumnElement[Any] | QueryableAttribute[Any],
    row_id: ColumnElement[Any] | QueryableAttribute[Any],
    key: tuple[datetime, Any] | None,
) -> Select[*Ts]:
    """Rows strictly after `key` in `(created_at, id)` order, that order, ascending."""
    if key is not None:
        at, identifier = key
        query = query.where(or_(created_at > at, and_(created_at == at, row_id > identifier)))
    return query.order_by(created_at, row_id)


def page_of(
    rows: Sequence[T], limit: int, scope: str, signer: Cursors, key_of: Any
) -> tuple[list[T], Meta]:
    """Cut `limit + 1` fetched rows to a page and say where the next one starts."""
    has_more = len(rows) > limit
    shown = list(rows[:limit])
    next_cursor = signer.encode(scope, *key_of(shown[-1])) if has_more else None
    return shown, Meta(next_cursor=next_cursor, has_more=has_more)
