"""Bad input of every shape and size, against a real `tenantry serve`: each is a 4xx
problem+json whose `status` is the HTTP status, with no stack trace or SQL in it, and
changes nothing (everything the caller can list reads the same before and after).

Cases are tables: the routes that take a JSON object, the values to send where one is
expected, the strings that mean something to SQL, the ids and cursors that are not ones.
"""

import json
import select
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tenantry.errors import PROBLEM_JSON
from tests.utils.factories import Registration, unique_email
from tests.utils.http import registered_at
from tests.utils.problems import LEAKS
from tests.utils.server import Server

pytestmark = pytest.mark.slow

ITEM, USER = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
# Where each JSON-object route is, who may call it, and a valid body for it.
OBJECT_ROUTES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "space": ("POST", "/v1/spaces", "key", {"name": "s"}),
    "space-update": ("PATCH", "/v1/spaces/{space}", "key", {"name": "s"}),
    "model": ("POST", "/v1/tenant/models", "key", {"name": "m"}),
    "model-update": ("PATCH", "/v1/tenant/models/{model}", "key", {"name": "m"}),
    "document": ("POST", "/v20241104/documents", "key", {"title": "d"}),
    "document-update": ("POST", "/v20241104/documents/{document}", "key", {"title": "d"}),
    "browse": ("POST", "/v20241104/documents/browse", "key", {"limit": 10}),
    "list-tenant-ids": ("POST", "/v20241104/list-tenant-ids", "key", {"limit": 10}),
    "item": ("PUT", f"/v1/items/{ITEM}/", "key", {"item": {"title": "i"}}),
    "items-bulk": ("PUT", "/v1/items-bulk/", "key", {"items": [{"item_id": ITEM}]}),
    "user": ("PUT", f"/v1/users/{USER}/", "key", {"user": {"age": 1}}),
    "rating": ("PUT", f"/v1/users/{USER}/ratings/{ITEM}/", "key", {"rating": 5}),
    "ratings-bulk": (
        "PUT",
        "/v1/ratings-bulk/",
        "key",
        {"ratings": [{"user_id": USER, "item_id": ITEM, "rating": 5}]},
    ),
    "register": ("POST", "/v1/register/", "none", {"email": "x@example.com", "password": "p"}),
    "login": ("POST", "/v1/login/individual/", "none", {"email": "x@example.com", "password": "p"}),
    "refresh": ("POST", "/v1/login/refresh-token/", "none", {"refresh_token": "x"}),
    "database": ("POST", "/v1/databases/", "bearer", {"name": "db"}),
    "database-update": ("PATCH", "/v1/databases/current/", "bearer", {"description": "d"}),
    "api-key": ("POST", "/v1/api-keys/", "bearer", {"name": "k"}),
    "account": ("POST", "/v1/accounts/individual/", "bearer", {"email": "a@example.com"}),
}
NOT_AN_OBJECT = [[], ["x"], "a string", 1, -1.5, None, True]
WRONG_TYPES = [12, True, ["x"], {"x": 1}, None]
# The string fields of each route, to fill with wrong types and with SQL's characters.
STRING_FIELDS = {
    "space": ["name", "description"],
    "model": ["name", "description", "model_id", "alias"],
    "document": ["title", "content", "tenant_id", "language", "source_uri"],
    "browse": ["language"],
    "list-tenant-ids": ["after"],
    "register": ["email", "password"],
    "login": ["email", "password", "db_id"],
    "refresh": ["refresh_token"],
    "database": ["name", "description", "item_id_type"],
    "api-key": ["name", "role", "account_id"],
    "account": ["email", "password", "role"],
}
SQL = ["'", '"', ";", "--", "\\", "$$", "\x00", "'; DROP TABLE spaces; --", '" OR 1=1 --', "a\x00b"]
ODD_IDS = ["..", "%2e%2e", "%00", "a%00b", "%2F", "x%2F..%2Fy", "é", "💥", "'", "1;--"]


@dataclass
class World:
    """Two organizations with data in their databases, and the ids and cursors of it."""

    base: str
    tenant: Registration
    other: Registration
    ids: dict[str, str]
    cursors: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"key": self.tenant.key, "bearer": self.tenant.bearer, "none": {}}[who]


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _cursor(base: str, path: str, headers: dict[str, str]) -> str:
    page = httpx.get(f"{base}{path}", params={"limit": 1}, headers=headers).json()
    return str(page["meta"]["next_cursor"])


def _first(base: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = httpx.get(f"{base}{path}", headers=headers).json()["data"][0]
    return row


@pytest.fixture(scope="module")
def world(served: Server) -> World:
    base = served.url
    tenant = registered_at(base, unique_email("bad"))
    other = registered_at(base, unique_email("other"))
    for who in (tenant, other):
        for name in ("one", "two"):
            _created(httpx.post(f"{base}/v1/spaces", json={"name": name}, headers=who.key))
            headers = {**who.key, "Idempotency-Key": uuid.uuid4().hex}
            model = httpx.post(f"{base}/v1/tenant/models", json={"name": name}, headers=headers)
            _created(model)
    document = httpx.post(
        f"{base}/v20241104/documents", json={"title": "t", "tenant_id": "a"}, headers=tenant.key
    )
    # The properties the base bodies write, declared: those bodies are valid writes.
    for kind, name, value_type in (("items", "title", "unicode"), ("users", "age", "int32")):
        declared = httpx.post(
            f"{base}/v1/{kind}-properties/",
            json={"property_name": name, "value_type": value_type},
            headers=tenant.key,
        )
        assert declared.status_code == 201, declared.text
    for route in ("item", "user"):  # written with the base bodies, which are valid
        method, path, _, body = OBJECT_ROUTES[route]
        written = httpx.request(method, f"{base}{path}", json=body, headers=tenant.key)
        assert written.status_code == 204, written.text
    cursors = {
        "spaces": _cursor(base, "/v1/spaces", tenant.key),
        "models": _cursor(base, "/v1/tenant/models", tenant.key),
        "other database's spaces": _cursor(base, "/v1/spaces", other.key),
    }
    ids = {
        "space": _first(base, "/v1/spaces", tenant.key)["space_id"],
        "model": _first(base, "/v1/tenant/models", tenant.key)["tenant_model_id"],
        "document": _created(document)["id"],
    }
    return World(base, tenant, other, ids, cursors)


LISTS = [
    ("GET", "/v1/spaces?limit=100", "key", None),
    ("GET", "/v1/spaces?limit=100", "none", None),  # the template
    ("GET", "/v1/tenant/models?limit=100", "key", None),
    ("POST", "/v20241104/documents/browse", "key", {"limit": 100}),
    ("POST", "/v20241104/list-tenant-ids", "key", {"limit": 100}),
    ("GET", "/v1/items-bulk/?amt=5000", "key", None),
    ("GET", "/v1/users-bulk/?amt=5000", "key", None),
    ("GET", "/v1/ratings-bulk/?amt=5000", "key", None),
    ("GET", "/v1/databases/?amt=64", "bearer", None),
    ("GET", "/v1/databases/current/", "bearer", None),
    ("GET", "/v1/api-keys/", "bearer", None),
    ("GET", "/v1/accounts/", "bearer", None),
]


def _without_clocks(value: Any) -> Any:
    """`last_used_at` moves with every request a key makes: not a change made by one."""
    if isinstance(value, dict):
        return {k: _without_clocks(v) for k, v in value.items() if k != "last_used_at"}
    if isinstance(value, list):
        return [_without_clocks(v) for v in value]
    return value


def snapshot(world: World) -> list[Any]:
    """Everything the caller (and an anonymous one) can list."""
    seen = []
    for method, path, who, body in LISTS:
        response = httpx.request(
            method, f"{world.base}{path}", json=body, headers=world.headers(who)
        )
        assert response.status_code == 200, (path, response.text)
        seen.append(_without_clocks(response.json()))
    return seen


@pytest.fixture(scope="class")
def unchanged(world: World) -> Iterator[None]:
    """Nothing the class's requests sent changed anything (checked around the class: one
    snapshot is a dozen requests, and the classes send hundreds)."""
    before = snapshot(world)
    yield
    assert snapshot(world) == before


def assert_refused(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["request_id"] == response.headers["x-request-id"]
    assert not LEAKS.search(response.text), response.text[:1000]
    return body


def send(world: World, route: str, **kwargs: Any) -> httpx.Response:
    method, path, who, _ = OBJECT_ROUTES[route]
    headers = {**world.headers(who), **kwargs.pop("headers", {})}
    if route == "model":
        headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
    url = world.base + path.format(**world.ids)
    return httpx.request(method, url, headers=headers, timeout=60, **kwargs)


@pytest.mark.usefixtures("unchanged")
class TestBodies:
    @pytest.mark.parametrize("body", NOT_AN_OBJECT, ids=repr)
    @pytest.mark.parametrize("route", OBJECT_ROUTES)
    def test_not_an_object(self, world: World, route: str, body: Any) -> None:
        assert_refused(send(world, route, json=body), 400)

    @pytest.mark.parametrize("value", WRONG_TYPES, ids=repr)
    @pytest.mark.parametrize(
        ("route", "field"),
        [(route, field) for route, fields in STRING_FIELDS.items() for field in fields[:2]],
    )
    def test_a_field_of_the_wrong_type(
        self, world: World, route: str, field: str, value: Any
    ) -> None:
        optional = field not in ("name", "title", "email", "password") or (
            (route, field) == ("account", "password")  # an account may have no password
        )
        if value is None and optional:
            pytest.skip("null is a valid value of an optional field")
        body = {**OBJECT_ROUTES[route][3], field: value}
        assert_refused(send(world, route, json=body), 400, 401)

    @pytest.mark.parametrize(
        ("kind", "make"),
        [
            ("1 MB name", lambda: json.dumps({"name": "x" * 1_000_000}).encode()),
            (
                "10,000 levels",
                lambda: b'{"name": "n", "metadata": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
            ),
            ("10 MB body", lambda: json.dumps({"name": "n", "pad": "x" * 10_000_000}).encode()),
            ("bad UTF-8", lambda: b'{"name": "\xff\xfe\xc3"}'),
            ("cut short", lambda: b'{"name": "n'),
            ("not JSON", lambda: b"name=n&description=d"),
            ("empty", lambda: b""),
            ("NUL", lambda: b'{"name": "\x00"}'),
        ],
    )
    @pytest.mark.parametrize(
        "route", ["space", "model", "document", "items-bulk", "register", "database"]
    )
    def test_malformed_and_oversized(
        self, world: World, route: str, kind: str, make: Callable[[], bytes]
    ) -> None:
        if route == "document" and kind == "1 MB name":
            pytest.skip("documents have a title, not a name")
        response = send(world, route, content=make(), headers={"Content-Type": "application/json"})
        assert_refused(response, 400, 413)

    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "application/jsonx",
            "image/png",
        ],
    )
    @pytest.mark.parametrize("route", ["space", "model", "list-tenant-ids", "login", "api-key"])
    def test_not_declared_as_json(self, world: World, route: str, content_type: str) -> None:
        body = json.dumps(OBJECT_ROUTES[route][3]).encode()
        response = send(world, route, content=body, headers={"Content-Type": content_type})
        assert_refused(response, 415)


@pytest.mark.usefixtures("unchanged")
class TestListParameters:
    @pytest.mark.parametrize("value", ["-1", "0", "past", "1" + "0" * 30, "abc", "1.5", "", "%00"])
    @pytest.mark.parametrize(
        ("path", "parameter", "past"),
        [
            ("/v1/spaces", "limit", "101"),
            ("/v1/tenant/models", "limit", "101"),
            ("/v1/items-bulk/", "amt", "5001"),
            ("/v1/ratings-bulk/", "amt", "5001"),
            ("/v1/databases/", "amt", "65"),
            ("/v1/databases/", "page", "1000001"),
            (f"/v1/users/{USER}/ratings/", "amt", "1001"),
            (f"/v1/users/{USER}/ratings/", "page", "0"),
        ],
    )
    def test_a_bad_page_size(
        self, world: World, path: str, parameter: str, past: str, value: str
    ) -> None:
        """`past`: one more than the largest allowed."""
        who = "bearer" if "databases" in path else "key"
        url = f"{world.base}{path}?{parameter}={past if value == 'past' else value}"
        assert_refused(httpx.get(url, headers=world.headers(who)), 400)

    @pytest.mark.parametrize("value", [-1, 0, 101, 10**30, "ten", 1.5, None, [], {}])
    @pytest.mark.parametrize("route", ["browse", "list-tenant-ids"])
    def test_a_bad_limit_in_a_body(self, world: World, route: str, value: Any) -> None:
        if value is None:
            pytest.skip("null is the default limit")
        assert_refused(send(world, route, json={"limit": value}), 400)

    @pytest.mark.parametrize(
        "cursor",
        ["tampered", "another list's", "another database's", "made up", "huge", "NUL"],
    )
    @pytest.mark.parametrize("path", ["/v1/spaces", "/v1/tenant/models", "/v1/items-bulk/"])
    def test_a_cursor_not_given_out_here(self, world: World, path: str, cursor: str) -> None:
        own = world.cursors["models" if "models" in path else "spaces"]
        value = {
            "tampered": own[:-2] + ("A" if own[-2] != "A" else "B") + own[-1],
            "another list's": world.cursors["spaces" if "models" in path else "models"],
            "another database's": world.cursors["other database's spaces"],
            "made up": "eyJpZCI6IjEifQ",
            "huge": "x" * 5_000,
            "NUL": "a\x00b",
        }[cursor]
        if cursor == "another database's" and "items" in path:
            value = world.cursors["spaces"]
        response = httpx.get(
            f"{world.base}{path}", params={"cursor": value}, headers=world.tenant.key
        )
        assert_refused(response, 400, 414, 431)

    @pytest.mark.parametrize("after", ["", "x" * 251, None, 5, ["a"], "a\x00b"])
    def test_a_bad_after(self, world: World, after: Any) -> None:
        if after is None:
            pytest.skip("null is no `after`")
        assert_refused(send(world, "list-tenant-ids", json={"after": after}), 400)


@pytest.mark.usefixtures("unchanged")
class TestIds:
    @pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
    @pytest.mark.parametrize("odd", ODD_IDS)
    @pytest.mark.parametrize(
        "path",
        [
            "/v1/spaces/{}",
            "/v1/spaces/{}/background",
            "/v1/tenant/models/{}",
            "/v20241104/documents/{}",
            "/v1/items/{}/",
            "/v1/users/{}/ratings/",
            "/v1/api-keys/{}/",
            "/v1/accounts/{}/",
        ],
    )
    def test_an_id_that_is_not_one(self, world: World, path: str, odd: str, method: str) -> None:
        who = "bearer" if "api-keys" in path or "accounts" in path else "key"
        response = httpx.request(
            method,
            world.base + path.replace("{}", odd),
            json={} if method == "PATCH" else None,
            headers=world.headers(who),
        )
        assert_refused(response, 400, 404, 405)

    @pytest.mark.parametrize("route", ["space-update", "model-update", "document-update"])
    def test_the_other_databases_ids_are_not_found(self, world: World, route: str) -> None:
        other_ids = {
            "space": _first(world.base, "/v1/spaces", world.other.key)["space_id"],
            "model": _first(world.base, "/v1/tenant/models", world.other.key)["tenant_model_id"],
            "document": world.ids["document"],
        }
        method, path, _, body = OBJECT_ROUTES[route]
        caller = world.other if route == "document-update" else world.tenant
        url = world.base + path.format(**other_ids)
        response = httpx.request(method, url, json=body, headers=caller.key)
        assert_refused(response, 404)


@pytest.mark.usefixtures("unchanged")
class TestSqlCharacters:
    """Characters that mean something to SQL are data: stored and read back as sent, or
    refused (a NUL cannot be stored) with nothing changed."""

    @pytest.mark.parametrize("value", SQL, ids=repr)
    @pytest.mark.parametrize(
        ("route", "field", "read"),
        [
            ("space", "name", "/v1/spaces/{space_id}"),
            ("space", "description", "/v1/spaces/{space_id}"),
            ("model", "name", "/v1/tenant/models/{tenant_model_id}"),
            ("model", "alias", "/v1/tenant/models/{tenant_model_id}"),
            ("document", "title", "/v20241104/documents/{id}"),
            ("document", "tenant_id", "/v20241104/documents/{id}"),
        ],
    )
    def test_in_data(self, world: World, route: str, field: str, read: str, value: str) -> None:
        before = snapshot(world)
        body = {**OBJECT_ROUTES[route][3], field: value}
        response = send(world, route, json=body)
        if response.status_code >= 400:
            assert_refused(response, 400)
            assert snapshot(world) == before
            return
        created = _created(response)
        assert created[field] == value
        url = world.base + read.format(**created)
        assert httpx.get(url, headers=world.tenant.key).json()[field] == value
        assert httpx.delete(url, headers=world.tenant.key).is_success
        assert snapshot(world) == before

    @pytest.mark.parametrize("value", SQL, ids=repr)
    @pytest.mark.parametrize(
        ("route", "field"),
        [
            ("login", "email"),
            ("login", "password"),
            ("refresh", "refresh_token"),
            ("register", "email"),
            ("account", "email"),
            ("api-key", "role"),
        ],
    )
    def test_in_credentials(self, world: World, route: str, field: str, value: str) -> None:
        body = {**OBJECT_ROUTES[route][3], field: value}
        if route == "login" and field == "password":
            body["email"] = world.tenant.email
        assert_refused(send(world, route, json=body), 400, 401, 422)

    @pytest.mark.parametrize("value", [v for v in SQL if "\x00" not in v], ids=repr)
    @pytest.mark.parametrize("header", ["X-API-Key", "Api-Key", "Authorization"])
    def test_in_credential_headers(self, world: World, header: str, value: str) -> None:
        response = httpx.get(f"{world.base}/v1/spaces", headers={header: value})
        assert_refused(response, 401)
        response = httpx.get(
            f"{world.base}/v1/spaces", headers={header: f"{world.tenant.api_key}{value}"}
        )
        assert_refused(response, 401)

    @pytest.mark.parametrize("value", [v for v in SQL if "\x00" not in v], ids=repr)
    def test_in_an_idempotency_key(self, world: World, value: str) -> None:
        """Visible ASCII is a key like any other; a space or a NUL is refused."""
        before = snapshot(world)
        headers = {"Idempotency-Key": value}
        first = send(world, "model", json={"name": "idem"}, headers=headers)
        if " " in value:
            assert_refused(first, 400)
            assert snapshot(world) == before
            return
        assert first.status_code == 201, first.text
        again = send(world, "model", json={"name": "idem"}, headers=headers)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
        url = f"{world.base}/v1/tenant/models/{first.json()['tenant_model_id']}"
        assert httpx.delete(url, headers=world.tenant.key).status_code == 204
        assert snapshot(world) == before


@pytest.mark.parametrize(
    "value", ["'; DROP SCHEMA public CASCADE; --", '"x"', "pg_x", "$$", "a\\b"]
)
def test_sql_characters_in_a_database_name(world: World, value: str) -> None:
    """The name is data; the schema's name is the server's own (folded, quoted)."""
    headers = world.tenant.bearer
    body = {"name": value, "item_id_type": "uint32", "user_id_type": "uint32"}
    response = httpx.post(f"{world.base}/v1/databases/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    listed = httpx.get(f"{world.base}/v1/databases/?amt=64", headers=headers).json()
    assert value in [database["name"] for database in listed["databases"]]
    assert httpx.get(f"{world.base}/v1/spaces", headers=world.tenant.key).status_code == 200
    assert httpx.get(f"{world.base}/v1/spaces").status_code == 200  # the template is there


def test_a_slow_body_is_cut_off_without_holding_up_others(served: Server, world: World) -> None:
    """A client that sends its headers, then its body a byte at a time, gets 408 once the
    body's time (3 s here, `TENANTRY_BODY_TIMEOUT`) is up; others are answered meanwhile."""
    host, port = "127.0.0.1", served.port
    body = json.dumps({"name": "slow"}).encode()
    with socket.create_connection((host, port), timeout=30) as slow:
        slow.sendall(
            f"POST /v1/spaces HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {world.tenant.api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        started = time.monotonic()

        def trickle() -> tuple[bytes, float]:
            """Send a byte every half second until the server answers."""
            for byte in body[:-1]:
                if select.select([slow], [], [], 0.5)[0]:
                    break
                slow.sendall(bytes([byte]))
            answered, chunks = time.monotonic(), []
            while chunk := slow.recv(65536):  # until the server closes the connection
                chunks.append(chunk)
            return b"".join(chunks), answered

        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(trickle)
            for _ in range(10):  # while the slow one trickles
                quick = httpx.get(f"{served.url}/healthz", timeout=2)
                assert quick.status_code == 200
                time.sleep(0.1)
            raw, answered = answer.result(timeout=30)
    elapsed = answered - started
    head, _, content = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), raw[:500]
    assert 2.5 < elapsed < 6, elapsed
    assert json.loads(content)["status"] == 408
    assert json.loads(content)["code"] == "REQUEST_TIMEOUT"
    names = [
        s["name"]
        for s in httpx.get(f"{served.url}/v1/spaces?limit=100", headers=world.tenant.key).json()[
            "data"
        ]
    ]
    assert "slow" not in names
