"""Isolation as a state machine: random creates, reads, updates, deletes and lists on every
data-plane resource, by every kind of credential of three databases (two organizations,
one with two databases) and by anonymous callers, through the real app over HTTP.

After every step: no response held another database's marks or ids, reads matched what
the caller's own database holds, writes by the frontend role or anonymous callers were
refused and changed nothing, and the template's rows are as they were.

`TENANTRY_ISOLATION_EXAMPLES` and `TENANTRY_ISOLATION_STEPS` make the run longer.
"""

import asyncio
import functools
import io
import os
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import ProgrammingError

from tenantry.db.engine import Lanes
from tenantry.models.data import Space
from tests.utils.isolation import (
    TEMPLATE_IDS,
    Credential,
    Database,
    Model,
    World,
    build_world,
    fresh_uuid,
)
from tests.utils.portal import Served, serve_app
from tests.utils.postgres import plain_url
from tests.utils.template import SPACE_ID

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("TENANTRY_ISOLATION_EXAMPLES", "20"))
STEPS = int(os.environ.get("TENANTRY_ISOLATION_STEPS", "50"))
KINDS = ("spaces", "models", "documents", "items", "users")
CATALOG = ("items", "users")
PATHS = {
    "spaces": "/v1/spaces",
    "models": "/v1/tenant/models",
    "documents": "/v20241104/documents",
    "items": "/v1/items",
    "users": "/v1/users",
}
TEMPLATE_TABLES = (
    "tenant_models",
    "spaces",
    "space_backgrounds",
    "documents",
    "document_tenant_ids",
    "item_properties",
    "user_properties",
    "items",
    "users",
    "ratings",
    "counters",
)
FINGERPRINT = " UNION ALL ".join(
    f"SELECT '{table}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
    f"FROM public.{table} t"
    for table in TEMPLATE_TABLES
)


async def template_fingerprint(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        return {row[0]: row[1] for row in await connection.fetch(FINGERPRINT)}
    finally:
        await connection.close()


def png(seed: int) -> bytes:
    """A small PNG whose bytes differ with `seed`."""
    out = io.BytesIO()
    Image.new("RGB", (2, 1), (seed % 256, (seed // 256) % 256, 7)).save(out, "PNG")
    return out.getvalue()


def first_failure(step: Callable[..., None]) -> Callable[..., None]:
    """Keep the first failure with the requests that led to it: the databases outlive an
    example, so Hypothesis' replay of a failing sequence is not the same run."""

    @functools.wraps(step)
    def run(self: "Isolation", *args: Any, **kwargs: Any) -> None:
        try:
            step(self, *args, **kwargs)
        except Exception as error:
            if Isolation.failure is None:
                journal = "\n".join(Isolation.journal)
                Isolation.failure = AssertionError(f"{error}\nlast requests:\n{journal}")
            raise

    return run


class Isolation(RuleBasedStateMachine):
    """Steps by random callers on random ids (their own, another database's, the
    template's, made up); the model says what each database holds."""

    served: ClassVar[Served]
    world: ClassVar[World]
    fingerprint: ClassVar[dict[str, str]]
    seen: ClassVar[dict[str, list[str]]]
    counter: ClassVar[list[int]] = [0]
    journal: ClassVar[deque[str]] = deque(maxlen=40)
    failure: ClassVar[AssertionError | None] = None

    # --- helpers ---------------------------------------------------------------------

    def call(
        self, caller: Credential, method: str, path: str, *, sent: tuple[str, ...] = (), **kw: Any
    ) -> httpx.Response:
        headers = caller.headers | kw.pop("headers", {})
        response = self.served.request(method, path, headers=headers, **kw)
        self.journal.append(f"{caller} {method} {response.request.url} -> {response.status_code}")
        self.world.check(caller, response, sent)
        return response

    def database(self, caller: Credential) -> Database | None:
        return None if caller.database is None else self.world.databases[caller.database]

    def model(self, caller: Credential) -> Model:
        database = self.database(caller)
        return Model.of_template() if database is None else database.model

    def mark(self, caller: Credential) -> str:
        database = self.database(caller)
        self.counter[0] += 1
        return f"{database.mark if database else 'anon'}-{self.counter[0]}"

    def target(self, data: st.DataObject, kind: str) -> str:
        """An id of any database, the template's, or a made-up one. The draw does not
        depend on the world (which outlives an example), so generation stays stable."""
        pick = data.draw(st.integers(0, 1 << 16), label="id")
        known = self.seen[kind]
        return fresh_uuid() if pick % 8 == 0 else known[pick % len(known)]

    def remember(self, kind: str, value: str, caller: Credential) -> None:
        assert caller.database is not None
        if value not in self.seen[kind]:
            self.seen[kind].append(value)
        if value not in TEMPLATE_IDS:
            self.world.own(value, caller.database)

    def refused(self, caller: Credential, response: httpx.Response, kind: str) -> None:
        """A write by a caller that may not write: refused, and nothing changed."""
        allowed = (401, 403) if caller.database is None and kind in CATALOG else (403,)
        assert response.status_code in allowed, f"{caller}: {response.status_code} {response.text}"

    # --- creates ---------------------------------------------------------------------

    @rule(caller=st.integers(0, 63), kind=st.sampled_from(KINDS))
    @first_failure
    def create(self, caller: int, kind: str) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        name = self.mark(who)
        model = self.model(who)
        if kind in CATALOG:
            value = fresh_uuid()
            path = f"{PATHS[kind]}/{value}/"
            response = self.call(who, "PUT", path, json={kind[:-1]: {"m": name}}, sent=(value,))
        else:
            body: dict[str, Any] = {"title" if kind == "documents" else "name": name}
            if kind == "documents":
                body["tenant_id"] = f"{name}-tenant"
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            response = self.call(who, "POST", PATHS[kind], json=body, headers=headers)
        if not who.writes:
            self.refused(who, response, kind)
            return
        if kind in CATALOG:
            assert response.status_code == 204, response.text
            getattr(model, kind)[value] = {"m": name}
        else:
            created = response.json()
            assert response.status_code == (200 if kind == "documents" else 201), response.text
            value = created[{"spaces": "space_id", "models": "tenant_model_id"}.get(kind, "id")]
            if kind == "documents":
                model.documents[value] = (name, f"{name}-tenant")
                self.remember("tenants", f"{name}-tenant", who)
            else:
                getattr(model, kind)[value] = name
        self.remember(kind, value, who)

    # --- reads -----------------------------------------------------------------------

    @rule(caller=st.integers(0, 63), kind=st.sampled_from(KINDS), data=st.data())
    @first_failure
    def read(self, caller: int, kind: str, data: st.DataObject) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        value = self.target(data, kind)
        suffix = "/" if kind in CATALOG else ""
        response = self.call(who, "GET", f"{PATHS[kind]}/{value}{suffix}", sent=(value,))
        if who.database is None and kind in CATALOG:
            assert response.status_code == 401, response.text
            return
        held = getattr(self.model(who), kind)
        if value not in held:
            assert response.status_code == 404, f"{who} read {kind} {value}: {response.text}"
            return
        assert response.status_code == 200, response.text
        body = response.json()
        if kind in CATALOG:
            assert body[kind[:-1]] == {f"{kind[:-1]}_id": value, **held[value]}
        elif kind == "documents":
            assert (body["title"], body["tenant_id"]) == held[value]
        else:
            assert body["name"] == held[value]

    @rule(caller=st.integers(0, 63), data=st.data())
    @first_failure
    def read_background(self, caller: int, data: st.DataObject) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        value = self.target(data, "spaces")
        response = self.call(who, "GET", f"/v1/spaces/{value}/background", sent=(value,))
        image = self.model(who).backgrounds.get(value)
        if image is None:
            assert response.status_code == 404, response.text
        else:
            assert response.status_code == 200, response.text
            assert response.content == image

    # --- updates ---------------------------------------------------------------------

    @rule(caller=st.integers(0, 63), kind=st.sampled_from(KINDS), data=st.data())
    @first_failure
    def update(self, caller: int, kind: str, data: st.DataObject) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        value = self.target(data, kind)
        name = self.mark(who)
        held = getattr(self.model(who), kind)
        if kind in CATALOG:
            path = f"{PATHS[kind]}/{value}/"
            response = self.call(who, "PUT", path, json={kind[:-1]: {"m": name}}, sent=(value,))
        elif kind == "documents":
            path = f"{PATHS[kind]}/{value}"
            response = self.call(who, "POST", path, json={"title": name}, sent=(value,))
        else:
            path = f"{PATHS[kind]}/{value}"
            response = self.call(who, "PATCH", path, json={"name": name}, sent=(value,))
        if not who.writes:
            self.refused(who, response, kind)
            return
        if kind in CATALOG:  # a PUT creates what is missing
            assert response.status_code == 204, response.text
            held[value] = {"m": name}
            self.remember(kind, value, who)
        elif value not in held:
            assert response.status_code == 404, f"{who} changed {kind} {value}: {response.text}"
        else:
            assert response.status_code == 200, response.text
            if kind == "documents":
                held[value] = (name, held[value][1])
            else:
                held[value] = name

    @rule(caller=st.integers(0, 63), data=st.data(), seed=st.integers(0, 65535))
    @first_failure
    def put_background(self, caller: int, data: st.DataObject, seed: int) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        value = self.target(data, "spaces")
        image = png(seed)
        path = f"/v1/spaces/{value}/background"
        response = self.call(who, "PUT", path, content=image, sent=(value,))
        if not who.writes:
            self.refused(who, response, "spaces")
            return
        model = self.model(who)
        if value not in model.spaces:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 200, response.text
        assert response.json()["has_background"] is True
        model.backgrounds[value] = image

    # --- deletes ---------------------------------------------------------------------

    @rule(caller=st.integers(0, 63), kind=st.sampled_from(KINDS), data=st.data())
    @first_failure
    def delete(self, caller: int, kind: str, data: st.DataObject) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        value = self.target(data, kind)
        suffix = "/" if kind in CATALOG else ""
        response = self.call(who, "DELETE", f"{PATHS[kind]}/{value}{suffix}", sent=(value,))
        if not who.writes:
            self.refused(who, response, kind)
            return
        model = self.model(who)
        held = getattr(model, kind)
        if value not in held:
            assert response.status_code == 404, f"{who} deleted {kind} {value}: {response.text}"
            return
        assert response.status_code == (200 if kind == "documents" else 204), response.text
        del held[value]
        if kind == "spaces":
            model.backgrounds.pop(value, None)
        # Deleting a user's or an item's properties keeps its ratings (docs/data.md).

    # --- ratings ---------------------------------------------------------------------

    @rule(caller=st.integers(0, 63), data=st.data(), rating=st.integers(1, 10))
    @first_failure
    def rate(self, caller: int, data: st.DataObject, rating: int) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        user, item = self.target(data, "users"), self.target(data, "items")
        path = f"/v1/users/{user}/ratings/{item}/"
        response = self.call(who, "PUT", path, json={"rating": rating}, sent=(user, item))
        if not who.writes:
            self.refused(who, response, "items")
            return
        model = self.model(who)
        if user not in model.users or item not in model.items:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 204, response.text
        model.ratings[(user, item)] = float(rating)

    @rule(caller=st.integers(0, 63), data=st.data())
    @first_failure
    def unrate(self, caller: int, data: st.DataObject) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        user, item = self.target(data, "users"), self.target(data, "items")
        path = f"/v1/users/{user}/ratings/{item}/"
        response = self.call(who, "DELETE", path, sent=(user, item))
        if not who.writes:
            self.refused(who, response, "items")
            return
        model = self.model(who)
        if (user, item) not in model.ratings:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 204, response.text
        del model.ratings[(user, item)]

    @rule(caller=st.integers(0, 63), data=st.data())
    @first_failure
    def user_ratings(self, caller: int, data: st.DataObject) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        user = self.target(data, "users")
        response = self.call(who, "GET", f"/v1/users/{user}/ratings/?amt=1000", sent=(user,))
        if who.database is None:
            assert response.status_code == 401, response.text
            return
        model = self.model(who)
        rated = any(pair[0] == user for pair in model.ratings)
        if response.status_code == 404:  # known by its properties or by its ratings
            assert user not in model.users, response.text
            assert not rated, response.text
            return
        assert response.status_code == 200, response.text
        shown = {(user, row["item_id"]): row["rating"] for row in response.json()["user_ratings"]}
        assert shown == {pair: r for pair, r in model.ratings.items() if pair[0] == user}

    # --- lists -----------------------------------------------------------------------

    def pages(self, who: Credential, path: str, rows: str, size: str) -> Iterator[Any]:
        """Every row of a cursor-paged list."""
        params: dict[str, Any] = {size: 7}
        while True:
            response = self.call(who, "GET", path, params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            yield from body[rows]
            after = body["meta"]["next_cursor"] if "meta" in body else body["next_cursor"]
            if not after:
                return
            params["cursor"] = after

    @rule(caller=st.integers(0, 63), kind=st.sampled_from(KINDS))
    @first_failure
    def list_all(self, caller: int, kind: str) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        model = self.model(who)
        if kind in CATALOG and who.database is None:
            response = self.call(who, "GET", f"/v1/{kind}-bulk/")
            assert response.status_code == 401, response.text
            return
        if kind in CATALOG:
            rows = self.pages(who, f"/v1/{kind}-bulk/", kind, "amt")
            ids = {row[f"{kind[:-1]}_id"] for row in rows}
        elif kind == "documents":
            ids = self.browse(who)
        else:
            rows = self.pages(who, PATHS[kind], "data", "limit")
            ids = {row["space_id" if kind == "spaces" else "tenant_model_id"] for row in rows}
        assert ids == set(getattr(model, kind)), f"{who} listed {kind}"

    def browse(self, who: Credential) -> set[str]:
        ids: set[str] = set()
        page: int | None = 1
        while page is not None:
            body = {"limit": 7, "page": page}
            response = self.call(who, "POST", "/v20241104/documents/browse", json=body)
            assert response.status_code == 200, response.text
            ids |= {row["id"] for row in response.json()["data"]}
            page = response.json()["next_page"] if response.json()["has_more"] else None
        return ids

    @rule(caller=st.integers(0, 63))
    @first_failure
    def list_tenant_ids(self, caller: int) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        shown: list[str] = []
        after: str | None = None
        while True:
            body: dict[str, Any] = {"limit": 5} | ({"after": after} if after else {})
            for header in ({}, {"Content-Type": "application/json"}):
                response = self.call(
                    who, "POST", "/v20241104/list-tenant-ids", json=body, headers=header
                )
                assert response.status_code == 200, response.text
            page = response.json()
            shown += page["data"]
            after = page["next_after"]
            if not page["has_more"]:
                break
        tenants = {tenant for _, tenant in self.model(who).documents.values() if tenant}
        assert shown == sorted(tenants, key=lambda tenant: tenant.encode())

    @rule(caller=st.integers(0, 63), data=st.data(), narrowed=st.booleans())
    @first_failure
    def search(self, caller: int, data: st.DataObject, narrowed: bool) -> None:
        """A title of any database's documents as the query: only the caller's documents
        come back (only those of the tenant ids asked, when asked), its own with that
        title among them."""
        who = self.world.credentials[caller % len(self.world.credentials)]
        held = self.model(who).documents
        titled = sorted(
            {
                document
                for database in self.world.databases
                for document in database.model.documents.values()
            }
            | set(Model.of_template().documents.values())
        )
        pick = data.draw(st.integers(0, 1 << 16), label="title")
        title, tenant = titled[pick % len(titled)]
        body: dict[str, Any] = {"query": title, "search_type": "lexical", "limit": 100}
        if narrowed and tenant is not None:
            body["tenant_id"] = [tenant]
        response = self.call(who, "POST", "/v20241104/search", json=body, sent=(title,))
        assert response.status_code == 200, response.text
        found = {hit["id"]: hit["tenant_id"] for hit in response.json()["data"]}
        assert set(found) <= set(held), f"{who} found {set(found) - set(held)}"
        if "tenant_id" in body:
            assert set(found.values()) <= {tenant}, f"{who} searched {tenant}: {found}"
        expected = {
            id_
            for id_, (held_title, held_tenant) in held.items()
            if held_title == title and ("tenant_id" not in body or held_tenant == tenant)
        }
        assert expected <= set(found), f"{who} missed {expected - set(found)}"

    @rule(caller=st.integers(0, 63))
    @first_failure
    def list_ratings(self, caller: int) -> None:
        who = self.world.credentials[caller % len(self.world.credentials)]
        if who.database is None:
            assert self.call(who, "GET", "/v1/ratings-bulk/").status_code == 401
            return
        rows = self.pages(who, "/v1/ratings-bulk/", "ratings", "amt")
        shown = {(row["user_id"], row["item_id"]): row["rating"] for row in rows}
        assert shown == self.model(who).ratings

    # --- after every step ------------------------------------------------------------

    @invariant()
    @first_failure
    def template_unchanged(self) -> None:
        current = self.served.run(template_fingerprint, self.served.database_url)
        assert current == self.fingerprint, "the template changed"


@pytest.fixture(scope="module")
def world(served: Served) -> World:
    return build_world(served.request)


def test_isolation_state_machine(served: Served, world: World) -> None:
    Isolation.served = served
    Isolation.world = world
    Isolation.fingerprint = served.run(template_fingerprint, served.database_url)
    Isolation.seen = {
        "spaces": [tid for tid in TEMPLATE_IDS if tid.endswith("01")],
        "models": [tid for tid in TEMPLATE_IDS if tid.endswith("02")],
        "documents": [tid for tid in TEMPLATE_IDS if tid.endswith("-doc")],
        "items": [tid for tid in TEMPLATE_IDS if tid.endswith("03")],
        "users": [tid for tid in TEMPLATE_IDS if tid.endswith("04")],
        "tenants": [],
    }
    try:
        run_state_machine_as_test(
            Isolation,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                # The databases outlive an example, so a replay is not the same run: report the
                # first failure as it happened instead of shrinking it.
                phases=[Phase.explicit, Phase.generate],
                database=None,
            ),
        )
    finally:
        if Isolation.failure is not None:
            raise Isolation.failure
    assert world.responses >= EXAMPLES * 10  # the steps ran, and asked the server


# --- one connection, many tenants -------------------------------------------------------

DATA_TABLES = "spaces|space_backgrounds|tenant_models|documents|items|users|ratings|counters"
UNQUALIFIED = re.compile(rf'(?:FROM|JOIN|INTO|UPDATE)\s+"?(?:{DATA_TABLES})"?(?:\s|$|\))', re.I)
STATE = """
SELECT pg_backend_pid() AS pid,
       current_setting('search_path') AS search_path,
       (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS temp_tables,
       (SELECT coalesce(array_agg(name || '=' || setting ORDER BY name), '{}')
        FROM pg_settings WHERE source NOT IN ('default', 'configuration file', 'override',
                                               'environment variable')
                           -- set back to the server's own value (the driver does so with
                           -- jit after it reads a type's description): nothing carried
                           AND setting IS DISTINCT FROM boot_val) AS settings,
       (SELECT count(*) FROM pg_locks
        WHERE pid = pg_backend_pid() AND locktype = 'advisory') AS advisory_locks,
       (SELECT count(*) FROM pg_listening_channels()) AS listening,
       (SELECT coalesce(array_agg(statement), '{}') FROM pg_prepared_statements) AS prepared
"""


async def session_state(app: FastAPI) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the lane's one session connection and its one reader carry between requests."""
    lanes: Lanes = app.state.lanes
    assert len(lanes.engines) == 1
    async with lanes.engines[0].connect() as connection:
        assert connection.sync_connection is not None
        assert "schema_translate_map" not in connection.sync_connection.get_execution_options()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        in_transaction = driver.is_in_transaction()  # as the server last reported it
        session = dict(await driver.fetchrow(STATE)) | {"in_transaction": in_transaction}
        try:  # nothing is reachable by an unqualified name
            await connection.execute(select(Space.space_id))
            session["unqualified_refused"] = False
        except ProgrammingError as error:
            session["unqualified_refused"] = "does not exist" in str(error)
        await connection.rollback()
    idle = [connection.is_in_transaction() for connection in lanes.readers[0].idle if connection]
    reader = dict((await lanes.fetch("any", STATE))[0]) | {"in_transaction": any(idle)}
    return session, reader


def _stable(state: dict[str, Any]) -> dict[str, Any]:
    for statement in state.pop("prepared"):
        assert not UNQUALIFIED.search(statement), f"an unqualified statement: {statement}"
    return {name: value for name, value in state.items() if name != "pid"}


@pytest.fixture(scope="module")
def one_lane(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_app(
        postgres_server,
        tmp_path_factory.mktemp("one-lane"),
        lanes=1,
        lane_pool_size=1,
        lane_readers=1,
        lane_max_overflow=0,
    )


def failing_requests(database: Database, other: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests that fail inside PostgreSQL or just before it, each leaving a rolled-back
    transaction on the lane's connection."""
    document_id = f"{database.mark}-fixed"
    key = uuid.uuid4().hex
    return [
        ("POST", "/v20241104/documents", {"json": {"id": document_id, "title": "first"}}),
        ("POST", "/v20241104/documents", {"json": {"id": document_id, "title": "again"}}),
        ("POST", "/v1/spaces", {"json": {"name": "nul \u0000 inside"}}),
        ("POST", "/v1/spaces", {"json": {"name": "x" * 201}}),
        ("PUT", f"/v1/users/{fresh_uuid()}/ratings/{fresh_uuid()}/", {"json": {"rating": 3}}),
        (
            "PUT",
            "/v1/ratings-bulk/",
            {
                "json": {
                    "ratings": [{"user_id": fresh_uuid(), "item_id": fresh_uuid(), "rating": 2}]
                }
            },
        ),
        ("PATCH", f"/v1/spaces/{other}", {"json": {"name": "not mine"}}),
        ("POST", "/v1/tenant/models", {"json": {"name": "k"}, "headers": {"Idempotency-Key": key}}),
        ("POST", "/v1/tenant/models", {"json": {"name": "l"}, "headers": {"Idempotency-Key": key}}),
        ("PUT", f"/v1/spaces/{other}/background", {"content": b"not an image"}),
        ("GET", "/v1/spaces", {"params": {"cursor": "forged"}}),
    ]


async def _concurrently(served: Served, calls: list[tuple[Credential, str, str]]) -> list[Any]:
    return await asyncio.gather(
        *(served.client.request(method, path, headers=who.headers) for who, method, path in calls)
    )


def test_one_connection_carries_nothing_between_tenants(one_lane: Served) -> None:
    """Tenants take turns on a lane of one session connection and one reader, with failing
    statements, constraint errors and rollbacks in between: the connections carry no search
    path, schema translation, SET, temporary table, lock or open transaction from one
    request to the next, and every answer is the caller's own."""
    world = build_world(one_lane.request)
    writers = [
        next(c for c in world.credentials if c.database == db.index and c.writes)
        for db in world.databases
    ]
    anonymous = world.credentials[-1]
    baseline = [_stable(state) for state in one_lane.run(session_state, one_lane.app)]
    assert baseline[0]["unqualified_refused"]
    assert not baseline[0]["in_transaction"]
    session_pids, reader_pids = set(), set()
    spaces: dict[int | None, set[str]] = {None: {SPACE_ID}}
    latest: dict[int, str] = {}  # each database's newest space

    def settled() -> None:
        session, reader = one_lane.run(session_state, one_lane.app)
        session_pids.add(session["pid"])
        reader_pids.add(reader["pid"])
        assert [_stable(session), _stable(reader)] == baseline

    for turn in range(6):
        for who in [*writers, anonymous]:
            database = None if who.database is None else world.databases[who.database]
            if database is not None:
                created = one_lane.request(
                    "POST",
                    "/v1/spaces",
                    headers=who.headers,
                    json={"name": f"{database.mark} {turn}"},
                )
                world.check(who, created)
                space_id = created.json()["space_id"]
                world.own(space_id, database.index)
                spaces.setdefault(database.index, {SPACE_ID}).add(space_id)
                latest[database.index] = space_id
                other = latest.get((database.index + 1) % len(writers), fresh_uuid())
                for method, path, options in failing_requests(database, other):
                    headers = who.headers | options.pop("headers", {})
                    response = one_lane.request(method, path, headers=headers, **options)
                    world.check(who, response, (other,))
                    settled()
            listed = one_lane.request("GET", "/v1/spaces?limit=100", headers=who.headers)
            world.check(who, listed)
            assert {row["space_id"] for row in listed.json()["data"]} == spaces[who.database]
            settled()
        calls = [(who, "GET", "/v1/spaces?limit=100") for who in [*writers, anonymous] * 3]
        for (who, _, _), response in zip(
            calls, one_lane.run(_concurrently, one_lane, calls), strict=True
        ):
            world.check(who, response)
            assert {row["space_id"] for row in response.json()["data"]} == spaces[who.database]
        settled()
    assert len(session_pids) == 1, "the lane's one connection was replaced"
    assert len(reader_pids) == 1, "the lane's one reader was replaced"
