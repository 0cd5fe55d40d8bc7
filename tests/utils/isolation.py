"""Organizations, their databases and every kind of credential, made through the API; and
the checks that a response holds nothing of another database."""

import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.utils import template
from tests.utils.factories import PASSWORD

WRITERS = ("root", "manager", "backend")
Request = Callable[..., httpx.Response]


@dataclass(frozen=True)
class Credential:
    name: str
    headers: dict[str, str]
    database: int | None  # index into the world's databases; None: anonymous (the template)
    writes: bool

    def __repr__(self) -> str:  # what Hypothesis prints in a failing sequence
        return self.name


@dataclass
class Model:
    """What one schema holds, as far as the API shows it."""

    spaces: dict[str, str] = field(default_factory=dict)  # id -> name
    backgrounds: dict[str, bytes] = field(default_factory=dict)  # space id -> image
    models: dict[str, str] = field(default_factory=dict)  # id -> name
    documents: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # (title, tenant)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> properties
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    ratings: dict[tuple[str, str], float] = field(default_factory=dict)  # (user, item)

    @classmethod
    def of_template(cls) -> "Model":
        return cls(
            spaces={template.SPACE_ID: f"{template.TEMPLATE_MARK} lobby"},
            backgrounds={template.SPACE_ID: template.TEMPLATE_PNG},
            models={template.MODEL_ID: f"{template.TEMPLATE_MARK} model"},
            documents={
                template.DOCUMENT_ID: (f"{template.TEMPLATE_MARK} title", template.TENANT_ID)
            },
            items={template.ITEM_ID: {"m": template.TEMPLATE_MARK}},
            users={template.USER_ID: {"m": template.TEMPLATE_MARK}},
            ratings={(template.USER_ID, template.ITEM_ID): 5.0},
        )


@dataclass
class Database:
    index: int
    id: str
    org: str
    mark: str  # in every value this database's callers write
    model: Model = field(default_factory=Model.of_template)


TEMPLATE_IDS = frozenset(
    {
        template.SPACE_ID,
        template.MODEL_ID,
        template.DOCUMENT_ID,
        template.TENANT_ID,
        template.ITEM_ID,
        template.USER_ID,
    }
)


@dataclass
class World:
    databases: list[Database]
    credentials: list[Credential]
    owners: dict[str, set[int]] = field(default_factory=dict)  # id -> databases that made it
    responses: int = 0

    def own(self, value: str, database: int) -> None:
        self.owners.setdefault(value, set()).add(database)

    def check(
        self,
        caller: Credential,
        response: httpx.Response,
        sent: Iterator[str] | tuple[str, ...] = (),
    ) -> None:
        """A response as every response must be: no 5xx, errors as problem+json, and
        nothing of another database (its marks, its ids), whatever was asked."""
        self.responses += 1
        where = f"{caller.name}: {response.request.method} {response.request.url.path}"
        assert response.status_code < 500, f"{where} -> {response.status_code} {response.text}"
        content_type = response.headers.get("content-type", "")
        if response.status_code >= 400:
            assert content_type == "application/problem+json", f"{where}: {content_type}"
            assert response.json()["status"] == response.status_code
        if "json" not in content_type or not response.content:
            return
        text = response.text
        for database in self.databases:
            if database.index != caller.database:
                assert database.mark not in text, f"{where} shows {database.mark}: {text}"
        allowed = set(sent)
        for value in strings(response.json()):
            owners = self.owners.get(value)
            if owners and caller.database not in owners and value not in allowed:
                raise AssertionError(f"{where} shows {value} of databases {owners}: {text}")


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, f"{response.status_code} {response.text}"
    body: dict[str, Any] = response.json() if response.content else {}
    return body


def _wait_ready(request: Request, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while _ok(request("GET", "/v1/databases/current/status/", headers=headers), 200) != {
        "status": "ready"
    }:
        assert time.monotonic() < deadline, "a database never became ready"
        time.sleep(0.05)


def _login(request: Request, email: str, database_id: str) -> dict[str, str]:
    body = _ok(
        request(
            "POST",
            "/v1/login/individual/",
            json={"email": email, "password": PASSWORD, "db_id": database_id},
        ),
        200,
    )
    return {"Authorization": f"Bearer {body['token']}"}


def _key(request: Request, bearer: dict[str, str], role: str) -> str:
    body = _ok(request("POST", "/v1/api-keys/", headers=bearer, json={"role": role}), 201)
    return str(body["key"])


def build_world(request: Request) -> World:
    """Two organizations; the first with two databases. Every database gets keys (backend
    in `X-API-Key` and `Api-Key`, frontend) and access tokens of every role."""
    databases: list[Database] = []
    credentials: list[Credential] = []
    for org_name, extra_databases in (("orga", 1), ("orgb", 0)):
        tag = secrets.token_hex(4)
        root_email = f"{org_name}.{tag}@example.com"
        registered = _ok(
            request("POST", "/v1/register/", json={"email": root_email, "password": PASSWORD}),
            201,
        )
        root = {"Authorization": f"Bearer {registered['token']}"}
        emails = {"root": root_email}
        for role in ("manager", "backend", "frontend"):
            emails[role] = f"{org_name}.{role}.{tag}@example.com"
            account = {"email": emails[role], "password": PASSWORD, "role": role}
            _ok(request("POST", "/v1/accounts/individual/", headers=root, json=account), 201)
        database_ids = [str(registered["database"]["id"])]
        for number in range(extra_databases):
            body = {"name": f"extra{number}", "item_id_type": "uuid", "user_id_type": "uuid"}
            created = _ok(request("POST", "/v1/databases/", headers=root, json=body), 200, 201)
            database_ids.append(str(created["id"]))
        for database_id in database_ids:
            index = len(databases)
            database = Database(index, database_id, org_name, f"db{index}mark{tag}")
            databases.append(database)
            tokens = {role: _login(request, emails[role], database_id) for role in emails}
            _wait_ready(request, tokens["root"])
            for kind in ("items", "users"):  # `m`, which the steps write, comes declared
                declared = request("GET", f"/v1/{kind}-properties/m/", headers=tokens["root"])
                assert _ok(declared, 200)["value_type"] == "unicode", declared.text
            backend, frontend = (
                _key(request, tokens["root"], "backend"),
                _key(request, tokens["root"], "frontend"),
            )
            named = f"{org_name}/db{index}"
            credentials += [
                Credential(f"{named} X-API-Key backend", {"X-API-Key": backend}, index, True),
                Credential(f"{named} Api-Key backend", {"Api-Key": backend}, index, True),
                Credential(f"{named} X-API-Key frontend", {"X-API-Key": frontend}, index, False),
                Credential(f"{named} Api-Key frontend", {"Api-Key": frontend}, index, False),
            ]
            credentials += [
                Credential(f"{named} bearer {role}", tokens[role], index, role in WRITERS)
                for role in tokens
            ]
    credentials.append(Credential("anonymous", {}, None, False))
    return World(databases, credentials)


def fresh_uuid() -> str:
    return str(uuid.uuid4())


def compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
