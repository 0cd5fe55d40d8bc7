"""The floor of `python -m bench hotpath`: the spaces API in as little Python as serves it.

Raw ASGI, an asyncpg pool, one schema-qualified statement per request, orjson. API keys
come from a JSON file (`{key: schema}`) read once at startup; an unknown key is a 401.
No validation beyond what keeps bad input out of the SQL, no signed cursors, no
transactions of its own, no idempotency: what any server of this API must at least do.

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/db FLOOR_KEYS=keys.json \\
    uvicorn bench.peers.floor:app --workers 1 --loop uvloop --http httptools \\
        --no-access-log --log-level warning
"""

import base64
import os
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import orjson

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

POOL_SIZE = int(os.environ.get("FLOOR_POOL_SIZE", "10"))
SCHEMA = re.compile(r"[a-z][a-z0-9_]{0,62}")
COLUMNS = (
    "s.space_id::text, s.name, s.description, s.metadata, "
    'EXISTS (SELECT 1 FROM "{schema}".space_backgrounds b WHERE b.space_id = s.space_id), '
    "s.created_at, s.updated_at"
)
JSON = (b"content-type", b"application/json")
DEFAULT_LIMIT, MAX_LIMIT = 20, 100


class Statements:
    """The SQL of one schema, made once."""

    __slots__ = ("create", "get", "page", "page_after")

    def __init__(self, schema: str) -> None:
        if not SCHEMA.fullmatch(schema):
            raise ValueError(f"not a schema name: {schema!r}")
        columns = COLUMNS.format(schema=schema)
        spaces = f'"{schema}".spaces s'
        order = "ORDER BY s.created_at, s.space_id LIMIT $1"
        self.get = f"SELECT {columns} FROM {spaces} WHERE s.space_id = $1"  # noqa: S608
        self.page = f"SELECT {columns} FROM {spaces} {order}"  # noqa: S608
        self.page_after = (
            f"SELECT {columns} FROM {spaces} "  # noqa: S608
            f"WHERE (s.created_at, s.space_id) > ($2, $3) {order}"
        )
        self.create = (
            f'INSERT INTO "{schema}".spaces AS s (name, description, metadata) '  # noqa: S608
            "VALUES ($1, $2, $3) RETURNING s.space_id::text, s.name, s.description, s.metadata, "
            "false, s.created_at, s.updated_at"
        )


class State:
    pool: asyncpg.Pool
    tenants: dict[bytes, Statements]


state = State()


def space(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "space_id": row[0],
        "name": row[1],
        "description": row[2],
        "metadata": row[3],  # an orjson.Fragment: the jsonb text as PostgreSQL sent it
        "has_background": row[4],
        "created_at": row[5],
        "updated_at": row[6],
    }


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


def cursor_of(row: asyncpg.Record) -> str:
    return base64.urlsafe_b64encode(dumps([row[5], row[0]])).decode()


def read_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    created_at, space_id = orjson.loads(base64.urlsafe_b64decode(cursor))
    return datetime.fromisoformat(created_at), uuid.UUID(space_id)


async def respond(send: Send, status: int, body: bytes) -> None:
    headers = [JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def problem(send: Send, status: int, detail: str) -> None:
    await respond(send, status, dumps({"detail": detail}))


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def get_space(send: Send, sql: Statements, space_id: str) -> None:
    try:
        key = uuid.UUID(space_id)
    except ValueError:
        return await problem(send, 422, "space_id is not a UUID.")
    row = await state.pool.fetchrow(sql.get, key)
    if row is None:
        return await problem(send, 404, "No space of this database has this id.")
    await respond(send, 200, dumps(space(row)))


async def list_spaces(send: Send, sql: Statements, query: bytes) -> None:
    limit, cursor = DEFAULT_LIMIT, None
    if query:
        params = parse_qs(query.decode())
        try:
            limit = int(params.get("limit", [DEFAULT_LIMIT])[0])
            if "cursor" in params:
                cursor = read_cursor(params["cursor"][0])
        except ValueError:
            return await problem(send, 422, "limit or cursor is not valid.")
        if not 1 <= limit <= MAX_LIMIT:
            return await problem(send, 422, f"limit must be 1 to {MAX_LIMIT}.")
    if cursor is None:
        rows = await state.pool.fetch(sql.page, limit + 1)
    else:
        rows = await state.pool.fetch(sql.page_after, limit + 1, *cursor)
    has_more = len(rows) > limit
    rows = rows[:limit]
    meta = {"next_cursor": cursor_of(rows[-1]) if has_more else None, "has_more": has_more}
    await respond(send, 200, dumps({"data": [space(row) for row in rows], "meta": meta}))


async def create_space(send: Send, sql: Statements, receive: Receive) -> None:
    try:
        body = orjson.loads(await read_body(receive))
    except orjson.JSONDecodeError:
        return await problem(send, 422, "The body is not JSON.")
    if not isinstance(body, dict):
        return await problem(send, 422, "The body is not an object.")
    name, description = body.get("name"), body.get("description")
    metadata = body.get("metadata", {})
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        return await problem(send, 422, "name must be 1 to 200 characters.")
    if description is not None and not isinstance(description, str):
        return await problem(send, 422, "description must be a string.")
    if not isinstance(metadata, dict):
        return await problem(send, 422, "metadata must be an object.")
    row = await state.pool.fetchrow(sql.create, name, description, metadata)
    await respond(send, 201, dumps(space(row)))


async def http(scope: Scope, receive: Receive, send: Send) -> None:
    sql = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            sql = state.tenants.get(value)
            break
    if sql is None:
        return await problem(send, 401, "The API key is not valid.")
    path: str = scope["path"].rstrip("/")
    method: str = scope["method"]
    if path == "/v1/spaces":
        if method == "GET":
            return await list_spaces(send, sql, scope["query_string"])
        if method == "POST":
            return await create_space(send, sql, receive)
        return await problem(send, 405, "Method not allowed.")
    if path.startswith("/v1/spaces/") and path.count("/") == 3:
        if method == "GET":
            return await get_space(send, sql, path[len("/v1/spaces/") :])
        return await problem(send, 405, "Method not allowed.")
    await problem(send, 404, "Not found.")


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.Fragment,
    )


def load_tenants(path: Path) -> dict[bytes, Statements]:
    keys: dict[str, str] = orjson.loads(path.read_bytes())
    made: dict[str, Statements] = {}
    return {
        key.encode(): made.setdefault(schema, Statements(schema)) for key, schema in keys.items()
    }


async def startup() -> None:
    state.tenants = load_tenants(Path(os.environ["FLOOR_KEYS"]))
    state.pool = await asyncpg.create_pool(
        os.environ["FLOOR_DATABASE_URL"],
        min_size=POOL_SIZE,
        max_size=POOL_SIZE,
        init=_init_connection,
        server_settings={"application_name": "floor"},
    )


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await startup()
            except Exception as error:  # reported to uvicorn, which exits
                await send({"type": "lifespan.startup.failed", "message": repr(error)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await state.pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(receive, send)
