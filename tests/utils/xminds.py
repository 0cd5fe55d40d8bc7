"""The official Crossing Minds client, `xminds`, against a real `tenantry serve`.

- `ID_KINDS`: the id types the compat suite runs over, each with the ids a user of the client
  passes and the ids the client gives back.
- `Org`, `register`, `json_client`, `database_client`, `Logins`: organizations, and clients
  logged in to them or to a new database of theirs, made through the client wherever it can.
- `rows`, `m2m_values`, `merged_rows`: the rows of a `list_items` / `list_users` answer with
  their repeated values, whichever of the two shapes the answer uses.
- `XMINDS_06`, `run_xminds_06`: the 0.6 client, installed once under `.venv/compat/` and
  driven in a process of its own (the project's `.venv` holds 0.7).
- `reset_mail`: the password-reset mail the server's default mail sender wrote to its log.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from xminds.api.client import CrossingMindsApiClient
from xminds.api.exceptions import AuthError

from tests.utils.factories import PASSWORD, unique_email

ROOT = Path(__file__).resolve().parents[2]

# --- ids ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdKind:
    """An id type of the databases API, as the client's users meet it."""

    type_name: str
    make: Callable[[int], Any]
    """The `n`th id of this type, as a user passes it to the client."""
    returned: Callable[[Any], Any] = lambda value: value
    """What the client gives back for an id passed as `value`."""

    def ids(self, count: int, start: int = 0) -> list[Any]:
        return [self.make(n) for n in range(start, start + count)]

    def wire(self, value: Any) -> Any:
        """`value` as it travels in a body or a path: bytes in base64url."""
        return b64(value) if isinstance(value, bytes) else value

    def __str__(self) -> str:
        return self.type_name


def _bytes_id(n: int) -> bytes:
    # 0xfb 0xff spell `-_` in base64url: the url-safe alphabet, not the standard one.
    return b"\xfb\xff" + n.to_bytes(2, "big") + b"\x00id"


ID_KINDS = {
    kind.type_name: kind
    for kind in (
        IdKind("uint32", lambda n: 1000 + n),
        IdKind("uuid", lambda n: str(uuid.UUID(int=(0xC0FFEE << 64) + n))),
        IdKind("hex16", lambda n: (0xABCD0000 + n).to_bytes(4, "big").hex()),
        IdKind("bytes16", _bytes_id),
    )
}
KIND_NAMES = list(ID_KINDS)


def b64(raw: bytes) -> str:
    """`raw` as the client writes a `bytes<N>` id: base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- organizations and clients ------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    """An organization registered on the server at `url`, by its root's email."""

    url: str
    email: str
    body: dict[str, Any]

    @property
    def org_id(self) -> str:
        return str(self.body["org_id"])


def register(url: str, local: str = "compat") -> Org:
    """A new organization (Crossing Minds has no sign-up call: Tenantry's own)."""
    email = unique_email(local)
    response = httpx.post(
        f"{url}/v1/register/", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 201, response.text
    return Org(url, email, response.json())


def json_client(url: str) -> CrossingMindsApiClient:
    """A client of the server at `url`, as the docs tell its users to make it."""
    return CrossingMindsApiClient(host=url, serializer="json")


def root_client(org: Org) -> CrossingMindsApiClient:
    """A client logged in as `org`'s root, to no database."""
    client = json_client(org.url)
    client.login_individual(org.email, PASSWORD)
    return client


def wait_ready(client: CrossingMindsApiClient, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while client.status()["status"] != "ready":
        assert time.monotonic() < deadline, f"not ready within {within} s"
        time.sleep(0.05)


def new_database(
    client: CrossingMindsApiClient,
    item_id_type: str,
    user_id_type: str,
    session_id_type: str | None = None,
    **fields: Any,
) -> str:
    """Create a database through the client; its id."""
    created = client.create_database(
        name=fields.pop("name", f"compat_{uuid.uuid4().hex[:12]}"),
        description=fields.pop("description", "made by the compat suite"),
        item_id_type=item_id_type,
        user_id_type=user_id_type,
        session_id_type=session_id_type,
        **fields,
    )
    assert isinstance(created, dict), created
    return str(created["id"])


def database_client(
    org: Org, items: IdKind, users: IdKind, sessions: IdKind | None = None
) -> CrossingMindsApiClient:
    """A client logged in as `org`'s root to a new, ready database with these id types."""
    client = root_client(org)
    db_id = new_database(
        client, items.type_name, users.type_name, sessions.type_name if sessions else None
    )
    client.login_refresh_token(db_id=db_id)
    wait_ready(client)
    return client


class Logins:
    """Clients logged in as one organization's root to new databases of theirs, each through
    the refresh token of the one before: a password check costs a few hundred milliseconds,
    and one is enough for a whole session. When a test has spent its client's refresh token,
    the next login checks the password again."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.last = root_client(org)

    def new_database_client(
        self, items: IdKind, users: IdKind, sessions: IdKind | None = None
    ) -> CrossingMindsApiClient:
        types = (items.type_name, users.type_name, sessions.type_name if sessions else None)
        try:
            db_id = new_database(self.last, *types)
        except AuthError:
            self.last = root_client(self.org)
            db_id = new_database(self.last, *types)
        client = json_client(self.org.url)
        try:
            client.login_refresh_token(refresh_token=self.last._refresh_token, db_id=db_id)
        except AuthError:
            client.login_individual(self.org.email, PASSWORD, db_id=db_id)
        self.last = client
        wait_ready(client)
        return client


# --- catalogs ---------------------------------------------------------------------------

ITEM_PROPERTIES = {"title": ("unicode64", False), "price": ("float32", False)}
ITEM_PROPERTIES["tags"] = ("unicode30", True)
USER_PROPERTIES = {"name": ("unicode64", False), "age": ("uint8", False)}
USER_PROPERTIES["tags"] = ("unicode30", True)


def declare_properties(client: CrossingMindsApiClient) -> None:
    """Declare ITEM_PROPERTIES and USER_PROPERTIES in the client's database."""
    for name, (value_type, repeated) in ITEM_PROPERTIES.items():
        client.create_item_property(name, value_type, repeated=repeated)
    for name, (value_type, repeated) in USER_PROPERTIES.items():
        client.create_user_property(name, value_type, repeated=repeated)


# --- answers ------------------------------------------------------------------------------


def m2m_values(answer: dict[str, Any], kind: str) -> dict[int, dict[str, list[Any]]]:
    """The repeated values of `answer[kind + "_m2m"]`, by row index then property."""
    found: dict[int, dict[str, list[Any]]] = {}
    m2m = answer.get(f"{kind}_m2m") or []
    if isinstance(m2m, dict):
        m2m = [{"name": name, **value} for name, value in m2m.items()]
    index = f"{kind.removesuffix('s')}_index"
    for entry in m2m:
        for pair in entry["array"]:
            row = found.setdefault(pair[index], {})
            row.setdefault(entry["name"], []).append(pair["value_id"])
    return found


def merged_rows(answer: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The rows of `answer[kind]` ("items" or "users"), each with its repeated values,
    whether the answer puts them in the row or in `<kind>_m2m`."""
    extra = m2m_values(answer, kind)
    return [row | extra.get(i, {}) for i, row in enumerate(answer[kind])]


def properties(row: dict[str, Any], key: str) -> dict[str, Any]:
    """A row's property values without its id `key`: repeated values sorted, unset ones (None,
    or no value at all) left out, so that either way of saying "unset" compares equal."""
    return {
        name: sorted(value) if isinstance(value, list) else value
        for name, value in row.items()
        if name != key and value is not None and value != []
    }


def rows(answer: dict[str, Any], kind: str) -> dict[Any, dict[str, Any]]:
    """The rows of a list answer (`kind`: "items" or "users") by id, as `properties`."""
    key = f"{kind.removesuffix('s')}_id"
    found = {}
    for row in merged_rows(answer, kind):
        assert row[key] not in found, f"{row[key]!r} twice"
        found[row[key]] = properties(row, key)
    return found


# --- xminds 0.6 ---------------------------------------------------------------------------

XMINDS_06 = "0.6.0"
# The sha256 of PyPI's xminds-0.6.0.tar.gz, its only distribution.
XMINDS_06_SHA256 = "2112a691103a9cc401ce7426be18eba7389eabdeddfd2ade20f46d1ac5d25374"
XMINDS_06_HOME = ROOT / ".venv" / "compat" / f"xminds-{XMINDS_06}"
DRIVER = ROOT / "tests" / "compat" / "xminds06_driver.py"


def install_xminds_06() -> Path:
    """xminds 0.6 installed alone (its requests and numpy are the project's) into a folder of
    its own under .venv/compat/, once; the folder, to put first on PYTHONPATH."""
    if (XMINDS_06_HOME / "xminds" / "api" / "client.py").exists():
        return XMINDS_06_HOME
    XMINDS_06_HOME.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="xminds-", dir=XMINDS_06_HOME.parent))
    requirements = staging / "requirements.txt"
    requirements.write_text(f"xminds=={XMINDS_06} --hash=sha256:{XMINDS_06_SHA256}\n")
    target = staging / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    options = ["--no-deps", "--require-hashes", "--no-binary", "xminds", "--target", str(target)]
    done = subprocess.run(
        [*pip, *options, "-r", str(requirements)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    try:
        target.rename(XMINDS_06_HOME)  # atomic: a concurrent run sees all of it or nothing
    except OSError:
        assert XMINDS_06_HOME.exists()  # another run installed it first
    shutil.rmtree(staging, ignore_errors=True)
    return XMINDS_06_HOME


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": value.hex()}
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return bytes.fromhex(value["__bytes__"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


@dataclass(frozen=True)
class Outcome:
    """What one call of the 0.6 client gave: its value, or the exception it raised."""

    value: Any = None
    error: str | None = None
    """The exception's class name."""
    data: Any = None
    """The exception's `data` (the answer's `error_data`) or text."""

    @property
    def ok(self) -> bool:
        return self.error is None


Call = tuple[str, list[Any], dict[str, Any]]


def call(method: str, *args: Any, **kwargs: Any) -> Call:
    return method, list(args), kwargs


def run_xminds_06(home: Path, url: str, calls: Iterable[Call]) -> list[Outcome]:
    """Make calls of `CrossingMindsApiClient(host=url, serializer='json')` of xminds 0.6 in
    order, in a process of its own; an outcome for each."""
    env = os.environ | {"PYTHONPATH": str(home)}
    payload = {"host": url, "calls": [_to_json(list(c)) for c in calls]}
    done = subprocess.run(
        [sys.executable, str(DRIVER)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    *_, last = done.stdout.strip().splitlines()
    return [Outcome(**_from_json(outcome)) for outcome in json.loads(last)]


# --- password resets ----------------------------------------------------------------------

CODE_IN_TEXT = re.compile(r":\s*([A-Za-z0-9_-]{16,})")
EXPIRY_IN_TEXT = re.compile(r"code_expiration_timestamp\D{0,3}([0-9]+(?:\.[0-9]+)?)")


@dataclass(frozen=True)
class Mail:
    """A password-reset mail that the server's default mail sender wrote to its log."""

    code: str
    code_expiration_timestamp: float
    text: str
    """The whole log record, as JSON."""


def _records(log: Path) -> Iterable[Any]:
    for line in log.read_text(errors="replace").splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            yield line


def _find(record: Any, key: str) -> Any:
    """The first value of `key` in a nested record, or in a URL's query string in it."""
    if isinstance(record, dict):
        if key in record:
            return record[key]
        values: Iterable[Any] = record.values()
    elif isinstance(record, list):
        values = record
    elif isinstance(record, str):
        for word in record.split():
            query = parse_qs(urlsplit(word.strip("\"'<>()")).query)
            if key in query:
                return query[key][0]
        return None
    else:
        return None
    for value in values:
        found = _find(value, key)
        if found is not None:
            return found
    return None


def _mail(record: Any) -> Mail | None:
    """The code and its expiry in a record: as fields, in a link's query string, or in the
    text ("…: <code> … code_expiration_timestamp <expiry>")."""
    text = json.dumps(record)
    code, expiry = _find(record, "code"), _find(record, "code_expiration_timestamp")
    words = " ".join(str(v) for v in record.values()) if isinstance(record, dict) else text
    if code is None and (match := CODE_IN_TEXT.search(words)):
        code = match[1]
    if expiry is None and (match := EXPIRY_IN_TEXT.search(words)):
        expiry = match[1]
    if code is None or expiry is None:
        return None
    return Mail(str(code), float(expiry), text)


def reset_mail(log: Path, email: str, within: float = 10) -> Mail:
    """The last password-reset mail to `email` that the server whose log is `log` wrote
    there (the default mail sender's delivery)."""
    deadline = time.monotonic() + within
    while True:
        for record in reversed(list(_records(log))):
            text = json.dumps(record)
            if (email in text or quote(email) in text) and "reset" in text.lower():
                mail = _mail(record)
                if mail is not None:
                    return mail
        assert time.monotonic() < deadline, f"no reset mail to {email} in {log}"
        time.sleep(0.1)


# --- the client's methods -----------------------------------------------------------------

CLIENT_SIDE = "client-side"
"""Methods and properties that send no request (the token, the last answer's headers)."""
AREAS = {
    "accounts": [
        "create_individual_account",
        "partial_update_individual_account",
        "delete_individual_account",
        "create_service_account",
        "delete_service_account",
        "create_service_account_key",
        "delete_service_account_key",
        "list_accounts",
        "send_reset_password_email",
        "set_or_reset_password",
        "login_individual",
        "login_service",
        "login_root",
        "login_refresh_token",
        "login_jwt",
    ],
    "organization": [
        "get_organization",
        "create_or_partial_update_organization",
        "partial_update_organization_preview",
    ],
    "databases": [
        "create_database",
        "get_all_databases",
        "get_database",
        "partial_update_database",
        "partial_update_database_preview",
        "delete_database",
        "status",
        "wait_until_ready",
    ],
    "item properties": [
        "create_item_property",
        "get_item_property",
        "list_item_properties",
        "delete_item_property",
    ],
    "items": [
        "create_or_replace_item",
        "create_or_update_item",
        "get_item",
        "create_or_replace_items_bulk",
        "create_or_update_items_bulk",
        "list_items",
        "list_items_paginated",
        "partial_update_item",
        "partial_update_items_bulk",
        "delete_item_props",
        "delete_items",
    ],
    "user properties": [
        "create_user_property",
        "get_user_property",
        "list_user_properties",
        "delete_user_property",
    ],
    "users": [
        "create_or_replace_user",
        "create_or_update_user",
        "get_user",
        "create_or_replace_users_bulk",
        "create_or_update_users_bulk",
        "list_users",
        "list_users_paginated",
        "partial_update_user",
        "partial_update_users_bulk",
        "delete_user",
        "delete_user_props",
        "delete_user_all",
        "delete_users",
    ],
    "ratings": [
        "create_or_update_rating",
        "create_or_update_user_ratings_bulk",
        "create_or_update_ratings_bulk",
        "list_user_ratings",
        "list_ratings",
        "delete_rating",
        "delete_user_ratings",
    ],
    "interactions": [
        "create_interaction",
        "create_user_interactions_bulk",
        "create_interactions_bulk",
        "list_interactions",
        "list_user_interactions",
    ],
    "sessions": [
        "create_session_interaction",
        "create_session_interactions_bulk",
        "create_sessions_interactions_bulk",
        "list_session_interactions",
        "list_sessions_interactions",
        "resolve_session",
        "list_resolved_sessions_by_users",
    ],
    CLIENT_SIDE: [
        "set_jwt_token",
        "clear_jwt_token",
        "jwt_token",
        "last_headers",
        "last_trace",
        "escape_url",
    ],
    "recommendations": [
        "get_reco_generic_to_items",
        "get_reco_item_to_items",
        "get_reco_item_properties_to_items",
        "get_precomputed_reco_item_to_items",
        "get_reco_session_to_items",
        "get_reco_user_to_items",
        "get_precomputed_reco_user_to_items",
        "get_reco_users_group_to_items",
        "get_reco_user_to_item_properties",
        "get_reco_session_to_item_properties",
        "get_reco_session_to_items_w_ctx_items",
        "get_reco_user_to_items_w_ctx_items",
    ],
    "background tasks and training": [
        "trigger_background_task",
        "get_background_tasks",
        "trigger_and_wait_background_task",
        "wait_for_background_task",
        "list_trained_models",
    ],
    "scenarios": [
        "get_scenario",
        "list_scenarios",
        "create_or_replace_scenario",
        "delete_scenario",
        "get_default_scenario",
        "set_default_scenario",
        "unset_default_scenario",
    ],
}
OUT_OF_SCOPE = {"recommendations", "background tasks and training"}
IN_SCOPE = [m for area, methods in AREAS.items() if area not in OUT_OF_SCOPE for m in methods]
"""The methods the data-plane tests of tests/compat must call: every one outside the
recommendations' areas (the client-side ones included)."""


def client_methods() -> list[str]:
    """Every public method and property of the installed client's class."""
    return [name for name in vars(CrossingMindsApiClient) if not name.startswith("_")]
