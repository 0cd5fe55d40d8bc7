"""`Idempotency-Key` on creates.

The key is scoped to (database, principal, method, path). While a request holds it (a
transaction-level advisory lock), another request with the same key gets 409. Once the
first has committed, the same key with the same body replays the stored status and bytes
with `Idempotent-Replayed: true`; with another body it gets 422. The record is written in
the create's own transaction, so a create and its record exist together or not at all.
"""

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, Header, Request, Response
from pydantic import BaseModel
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import (
    String,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.auth.connection import RequestConnection
from tenantry.auth.context import AuthContext, Caller
from tenantry.db.engine import Lanes
from tenantry.db.sessions import in_schema
from tenantry.db.statements import DriverStatement, for_driver
from tenantry.errors import BadRequest, Conflict, TenantryError
from tenantry.models.control import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as Stripe allows
JSON = "application/json"


class IdempotencyKeyRequired(BadRequest):
    code = "IDEMPOTENCY_KEY_REQUIRED"
    default_detail = "Send an Idempotency-Key header (1 to 255 visible ASCII characters)."


class IdempotencyKeyInvalid(BadRequest):
    code = "IDEMPOTENCY_KEY_INVALID"
    default_detail = "The Idempotency-Key must be 1 to 255 visible ASCII characters."


class IdempotencyKeyInUse(Conflict):
    code = "IDEMPOTENCY_KEY_IN_USE"
    default_detail = "A request with this Idempotency-Key is still running; retry shortly."


class IdempotencyKeyReused(TenantryError):
    status = 422
    code = "IDEMPOTENCY_KEY_REUSED"
    error_code = 40
    error_name = "WrongData"
    default_detail = "This Idempotency-Key was used with another request body."


class Replay(Exception):
    """The stored answer of an earlier request with the same key and body."""

    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record


# The key's lock and its stored answer, in one statement. The row is read from the
# statement's snapshot, taken just before the lock: a request that commits in between
# leaves no answer to read here but makes RECORD fail on its primary key.
CLAIM = text(
    "SELECT pg_try_advisory_xact_lock(hashtextextended(:scope, 0)) AS locked, "
    "r.request_hash, r.status_code, r.body "
    "FROM (VALUES (1)) AS one "
    "LEFT JOIN tenantry.idempotency_records AS r ON r.scope = :scope"
)
RECORD = text(
    "INSERT INTO tenantry.idempotency_records "
    "(scope, database_id, request_hash, status_code, body) "
    "VALUES (:scope, :database_id, :request_hash, :status_code, :body)"
)


def _request_hash(body: bytes) -> str:
    """The same JSON document hashes the same, however it is spaced or ordered."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return hashlib.sha256(body).hexdigest()
    return hashlib.sha256(canonical.encode()).hexdigest()


def _scope(context: AuthContext, method: str, path: str, key: str) -> str:
    assert context.database is not None
    principal = context.api_key_id or context.account_id or ""
    parts = (context.database.id, principal, method, path.rstrip("/"), key)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass
class Idempotency:
    """What an idempotent create needs: call `respond` with its answer."""

    connection: AsyncConnection
    database_id: str | None = None
    scope: str | None = None
    request_hash: str | None = None

    async def respond(self, status: int, model: BaseModel) -> Response:
        """Render the answer once; store those very bytes when a key was sent."""
        body = model.model_dump_json().encode()
        if self.scope is not None:
            assert self.database_id is not None
            assert self.request_hash is not None
            values = {
                "scope": self.scope,
                "database_id": self.database_id,
                "request_hash": self.request_hash,
                "status_code": status,
                "body": body,
            }
            try:
                await self.connection.execute(RECORD, values)
            except IntegrityError:
                # Another request with this key committed between this one's snapshot and
                # its taking the lock (see CLAIM): it made the object; a retry replays it.
                raise IdempotencyKeyInUse from None
        return Response(body, status_code=status, media_type=JSON)


async def _guard(
    request: Request,
    context: Caller,
    connection: RequestConnection,
    key: str | None,
    *,
    required: bool,
) -> Idempotency:
    if key is None:
        if required:
            raise IdempotencyKeyRequired
        return Idempotency(connection)
    if not KEY.fullmatch(key):
        raise IdempotencyKeyInvalid
    if context.database is None:  # anonymous or no database: the data session refuses it
        return Idempotency(connection)
    scope = _scope(context, request.method, request.url.path, key)
    claim = (await connection.execute(CLAIM, {"scope": scope})).one()
    if not claim.locked:
        raise IdempotencyKeyInUse
    request_hash = _request_hash(await request.body())
    if claim.request_hash is not None:
        if claim.request_hash != request_hash:
            raise IdempotencyKeyReused
        raise Replay(IdempotencyRecord(status_code=claim.status_code, body=claim.body))
    return Idempotency(connection, context.database.id, scope, request_hash)


@dataclass(frozen=True)
class Claim:
    """A create's Idempotency-Key, for a create the driver makes (`made_once`)."""

    scope: str
    database_id: str
    request_hash: str


async def _claim(request: Request, context: AuthContext, key: str | None) -> Claim | None:
    if key is None:
        return None
    if not KEY.fullmatch(key):
        raise IdempotencyKeyInvalid
    if context.database is None:  # anonymous or no database: the schema refuses it
        return None
    scope = _scope(context, request.method, request.url.path, key)
    return Claim(scope, context.database.id, _request_hash(await request.body()))


RECORDS: Table = IdempotencyRecord.__table__  # type: ignore[assignment]  # declarative tables are Tables
# A created row's claim, for `made_once`: the key's lock and its stored answer, as CLAIM.
_CLAIM = (
    select(
        func.pg_try_advisory_xact_lock(
            func.hashtextextended(bindparam("claim_scope", type_=String), literal_column("0"))
        ).label("claim_locked"),
        RECORDS.c.request_hash.label("claim_request_hash"),
        RECORDS.c.status_code.label("claim_status_code"),
        RECORDS.c.body.label("claim_body"),
    )
    .select_from(
        select(literal_column("1"))
        .subquery("one")
        .outerjoin(RECORDS, RECORDS.c.scope == bindparam("claim_scope", type_=String))
    )
    .cte("claim")
    .prefix_with("MATERIALIZED")  # once, before the insert that reads it
)
_FREE = select(_CLAIM.c.claim_locked & _CLAIM.c.claim_request_hash.is_(None)).scalar_subquery()
_RECORDED = ("scope", "database_id", "request_hash", "status_code")


@cache
def _inserts(table: Table, columns: tuple[str, ...]) -> tuple[DriverStatement, DriverStatement]:
    """A row of `table` with `columns` set (`new_<name>` parameters), for the driver: the
    plain insert, and the claimed one — in one statement, the key's lock and answer
    (`claim_*` columns), the insert if the lock was taken and the key has no answer, and
    the key's record holding the new row as JSON."""
    new = {name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns}
    plain = insert(table).values(new).returning(*table.columns)
    made = (
        insert(table)
        .from_select(list(columns), select(*new.values()).where(_FREE))
        .returning(*table.columns)
        .cte("made")
    )
    record = [bindparam(f"claim_{name}", type_=RECORDS.c[name].type) for name in _RECORDED]
    row = func.convert_to(
        cast(func.to_jsonb(literal_column("made")), Text), literal_column("'UTF8'")
    )
    recorded = insert(RECORDS).from_select(
        [*_RECORDED, "body"], select(*record, row).select_from(made)
    )
    claimed = (
        select(_CLAIM, made)
        .select_from(_CLAIM.outerjoin(made, true()))
        .add_cte(recorded.cte("recorded"))
    )
    return for_driver(plain), for_driver(claimed)


Render = Callable[[Mapping[str, Any]], bytes]
"""A created row's answer, from the row as the driver returns it or as JSON decodes it."""


async def made_once(
    lanes: Lanes,
    schema: str,
    claim: Claim | None,
    status: int,
    table: Table,
    values: dict[str, Any],
    render: Render,
) -> Response:
    """Insert a row of `table` with `values` in `schema` and answer `render(row)`: one
    statement, with a key or without. With one, that statement takes the key's lock,
    inserts, and records the row as the key's answer; a key already answered replays that
    row, rendered the same (`Replay`)."""
    plain, claimed = _inserts(table, tuple(values))
    new = {f"new_{name}": value for name, value in values.items()}
    if claim is None:
        arguments = plain.arguments(**new)
        row = await lanes.run(
            schema, lambda driver: driver.fetchrow(in_schema(plain.sql, schema), *arguments)
        )
        return Response(render(row), status_code=status, media_type=JSON)
    recorded = {
        "claim_scope": claim.scope,
        "claim_database_id": claim.database_id,
        "claim_request_hash": claim.request_hash,
        "claim_status_code": status,
    }
    arguments = claimed.arguments(**new, **recorded)
    try:
        row = await lanes.run(
            schema, lambda driver: driver.fetchrow(in_schema(claimed.sql, schema), *arguments)
        )
    except asyncpg.UniqueViolationError as error:
        if error.table_name != RECORDS.name:
            raise
        raise IdempotencyKeyInUse from None  # as in `Idempotency.respond`
    if not row["claim_locked"]:
        raise IdempotencyKeyInUse
    if row["claim_request_hash"] is not None:
        if row["claim_request_hash"] != claim.request_hash:
            raise IdempotencyKeyReused
        body = render(json.loads(row["claim_body"]))
        raise Replay(IdempotencyRecord(status_code=row["claim_status_code"], body=body))
    return Response(render(row), status_code=status, media_type=JSON)


def _key_schema(*, required: bool) -> dict[str, Any]:
    """What the OpenAPI document says of the header. It is checked in `_guard`, not by
    the framework, so that its errors have codes of their own; `x-required` becomes the
    parameter's `required` (see `tenantry.docs`)."""
    return {"pattern": f"^{KEY.pattern}$", "maxLength": 255} | (
        {"x-required": True} if required else {}
    )


def idempotency(*, required: bool) -> Callable[..., Awaitable[Idempotency]]:
    description = "Makes the create safe to retry" + (" (required)." if required else ".")

    async def guard(
        request: Request,
        context: Caller,
        connection: RequestConnection,
        key: Annotated[
            str | SkipJsonSchema[None],
            Header(
                alias=HEADER,
                max_length=1000,
                description=description,
                json_schema_extra=_key_schema(required=required),
            ),
        ] = None,
    ) -> Idempotency:
        return await _guard(request, context, connection, key, required=required)

    return guard


IdempotencyRequired = Annotated[Idempotency, Depends(idempotency(required=True))]
IdempotencyOptional = Annotated[Idempotency, Depends(idempotency(required=False))]


async def _optional_claim(
    request: Request,
    context: Caller,
    key: Annotated[
        str | SkipJsonSchema[None],
        Header(
            alias=HEADER,
            max_length=1000,
            description="Makes the create safe to retry.",
            json_schema_extra=_key_schema(required=False),
        ),
    ] = None,
) -> Claim | None:
    return await _claim(request, context, key)


IdempotencyClaim = Annotated[Claim | None, Depends(_optional_claim)]
"""An optional Idempotency-Key, for a create made by `made_once`."""


async def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)
    return Response(
        exc.record.body,
        status_code=exc.record.status_code,
        media_type=JSON,
        headers={"Idempotent-Replayed": "true"},
    )


def add_replay_handler(app: FastAPI) -> None:
    app.add_exception_handler(Replay, _replay)


async def expire(connection: AsyncConnection, retention: timedelta) -> int:
    """Forget records older than `retention`; how many went."""
    result = await connection.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < func.now() - retention)
    )
    return int(getattr(result, "rowcount", 0) or 0)
