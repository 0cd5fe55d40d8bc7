"""Items and users of the caller's database. Services never commit.

Every write is checked against the declared properties (`tenantry.data.catalog.
declarations`) before anything is written: a property not declared, or a value not of its
type, is a 400 naming the field, and the call writes nothing."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from tenantry.data.catalog import repository
from tenantry.data.catalog.ids import encoded, invalid
from tenantry.data.catalog.schemas import Properties, Repeated
from tenantry.data.catalog.value_types import Check, checker, reader
from tenantry.data.flexible_ids import IdCodec, InvalidId, from_base64url, to_base64url
from tenantry.data.pagination import Cursors
from tenantry.db.sessions import TenantSession
from tenantry.errors import NotFound
from tenantry.models.data import Item, ItemProperty, User, UserProperty

MAX_ERRORS = 20  # a bulk call's 400 names at most this many fields
MAX_MISSING = 10  # a bulk call's 404 names at most this many ids

Errors = dict[str, list[str]]


class ItemNotFound(NotFound):
    code = "ITEM_NOT_FOUND"
    default_detail = "No item of this database has this id."


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"
    default_detail = "No user of this database has this id."


class ItemsNotFound(NotFound):
    code = "ITEMS_NOT_FOUND"
    default_detail = "Some items do not exist; nothing was written."


class UsersNotFound(NotFound):
    code = "USERS_NOT_FOUND"
    default_detail = "Some users do not exist; nothing was written."


@dataclass(frozen=True)
class Kind:
    name: str
    plural: str
    table: Table
    not_found: type[NotFound]
    declared: Table
    some_not_found: type[NotFound]

    @property
    def key(self) -> str:
        return f"{self.name}_id"

    def missing(self, wire_id: object) -> NotFound:
        return self.not_found(
            f"The {self.name} {wire_id} does not exist",
            data={"type": self.name, "key": wire_id},
        )


ITEMS = Kind(
    "item",
    "items",
    Item.__table__,  # type: ignore[arg-type]
    ItemNotFound,
    ItemProperty.__table__,  # type: ignore[arg-type]
    ItemsNotFound,
)
USERS = Kind(
    "user",
    "users",
    User.__table__,  # type: ignore[arg-type]
    UserNotFound,
    UserProperty.__table__,  # type: ignore[arg-type]
    UsersNotFound,
)


@dataclass(frozen=True)
class Declared:
    """A declared property, as writes check it."""

    repeated: bool
    check: Check
    read: Check | None = None


async def declared(session: TenantSession, kind: Kind) -> dict[str, Declared]:
    rows = await repository.declarations(session, kind.declared)
    return {
        row.property_name: Declared(row.repeated, checker(row.value_type), reader(row.value_type))
        for row in rows
    }


def _as_declared(schema: Mapping[str, Declared], properties: Properties) -> Properties:
    """Stored values as their declared types read them (a float type's 1e300 is a float,
    though jsonb gives it back as an integer)."""
    shown = dict(properties)
    for name, value in properties.items():
        declaration = schema.get(name)
        if declaration is None or declaration.read is None:
            continue
        read = declaration.read
        shown[name] = [read(one) for one in value] if isinstance(value, list) else read(value)
    return shown


def _add(errors: Errors, field: str, message: str) -> None:
    if len(errors) < MAX_ERRORS:
        errors.setdefault(field, []).append(message)


def checked(
    kind: Kind,
    schema: Mapping[str, Declared],
    row: Properties,
    field: str,
    errors: Errors,
    *,
    nulls: bool,
) -> Properties:
    """`row`'s properties as stored, each checked against its declaration; problems go to
    `errors` under `field.<name>`. A null is kept when `nulls` (a patch removes the
    property), dropped otherwise."""
    stored: Properties = {}
    for name, value in row.items():
        declaration = schema.get(name)
        if declaration is None:
            _add(errors, f"{field}.{name}", f"Not a declared {kind.name} property.")
        elif value is None:
            if nulls:
                stored[name] = None
        elif declaration.repeated:
            stored[name] = _checked_list(declaration, value, f"{field}.{name}", errors)
        elif isinstance(value, list):
            _add(errors, f"{field}.{name}", "Not a repeated property: one value expected.")
        else:
            stored[name] = _checked_value(declaration, value, f"{field}.{name}", errors)
    return stored


def _checked_value(declaration: Declared, value: object, field: str, errors: Errors) -> object:
    try:
        return declaration.check(value)
    except ValueError as error:
        _add(errors, field, str(error))
        return None


def _checked_list(declaration: Declared, value: object, field: str, errors: Errors) -> object:
    if not isinstance(value, list):
        _add(errors, field, "A repeated property: a list of values expected.")
        return None
    return [_checked_value(declaration, one, f"{field}.{n}", errors) for n, one in enumerate(value)]


async def check(session: TenantSession, kind: Kind, properties: Properties) -> Properties:
    """`properties` as a PUT stores them; 400 naming the fields in error otherwise."""
    errors: Errors = {}
    stored = checked(
        kind, await declared(session, kind), properties, kind.name, errors, nulls=False
    )
    if errors:
        raise invalid(errors)
    return stored


async def present(session: TenantSession, kind: Kind, key: bytes) -> bool:
    """Whether the row of this stored id exists (ratings name only existing rows)."""
    return await repository.present(session, kind.table, key)


async def put(
    session: TenantSession, kind: Kind, ids: IdCodec, wire_id: str, properties: Properties
) -> None:
    """Create the row, or replace its properties."""
    key = encoded(ids, wire_id, kind.key)
    errors: Errors = {}
    if kind.key in properties:
        _add(errors, f"{kind.name}.{kind.key}", "The id goes in the path, not here.")
    rest = {k: v for k, v in properties.items() if k != kind.key}
    stored = checked(kind, await declared(session, kind), rest, kind.name, errors, nulls=False)
    if errors:
        raise invalid(errors)
    await repository.upsert(session, kind.table, [key], [stored])


async def patch(
    session: TenantSession,
    kind: Kind,
    ids: IdCodec,
    wire_id: str,
    properties: Properties,
    *,
    create: bool,
) -> bool:
    """Change the properties sent (null removes one); whether the row was created. 404 when
    it is not there and not `create`."""
    key = encoded(ids, wire_id, kind.key)
    errors: Errors = {}
    if kind.key in properties:
        _add(errors, f"{kind.name}.{kind.key}", "The id goes in the path, not here.")
    rest = {k: v for k, v in properties.items() if k != kind.key}
    changes = checked(kind, await declared(session, kind), rest, kind.name, errors, nulls=True)
    if errors:
        raise invalid(errors)
    if not create and not await repository.present(session, kind.table, key):
        raise kind.missing(ids.decode(key))
    return bool(await _patch_rows(session, kind, {key: changes}, create=create))


async def _patch_rows(
    session: TenantSession, kind: Kind, changes: dict[bytes, Properties], *, create: bool
) -> list[bytes]:
    """Create the missing rows when `create`, then merge the changes into every row; the
    ids created."""
    keys = list(changes)
    created: list[bytes] = []
    if create:
        fresh = [{k: v for k, v in one.items() if v is not None} for one in changes.values()]
        created = await repository.insert_missing(session, kind.table, keys, fresh)
    await repository.merge(session, kind.table, keys, list(changes.values()))
    return created


def _bulk_rows(
    kind: Kind,
    ids: IdCodec,
    schema: Mapping[str, Declared],
    rows: Sequence[Properties],
    repeated: Sequence[Repeated],
    *,
    nulls: bool,
) -> dict[bytes, Properties]:
    """The rows of a bulk call by id, checked, the repeated properties merged in; when an
    id is sent twice the later row wins (a patch merges them). 400 naming every field in
    error (up to MAX_ERRORS)."""
    errors: Errors = {}
    keys: list[bytes | None] = []
    properties = []
    for index, row in enumerate(rows):
        field = f"{kind.plural}.{index}"
        try:
            keys.append(ids.encode(row.get(kind.key)))
        except InvalidId as error:
            keys.append(None)
            _add(errors, f"{field}.{kind.key}", f"Not a {ids.type_name} id: {error}.")
        rest = {k: v for k, v in row.items() if k != kind.key}
        properties.append(checked(kind, schema, rest, field, errors, nulls=nulls))
    _add_repeated(kind, schema, properties, repeated, errors)
    if errors:
        raise invalid(errors)
    merged: dict[bytes, Properties] = {}
    for key, one in zip(keys, properties, strict=True):
        assert key is not None
        merged[key] = {**merged[key], **one} if nulls and key in merged else one
    return merged


def _add_repeated(
    kind: Kind,
    schema: Mapping[str, Declared],
    properties: list[Properties],
    repeated: Sequence[Repeated],
    errors: Errors,
) -> None:
    """Merge the clients' repeated properties into the rows' properties, as lists."""
    index_field = f"{kind.name}_index"
    for number, property_ in enumerate(repeated):
        field = f"{kind.plural}_m2m.{number}"
        declaration = schema.get(property_.name)
        if declaration is None or not declaration.repeated:
            _add(errors, f"{field}.name", f"Not a declared repeated {kind.name} property.")
            continue
        values: dict[int, list[Any]] = {}
        for position, entry in enumerate(property_.array):
            index = entry.get(index_field)
            if type(index) is not int or not 0 <= index < len(properties):
                _add(errors, f"{field}.array.{position}.{index_field}", "Not a row of this call.")
                continue
            value = entry.get("value_id")
            checked_value = _checked_value(
                declaration, value, f"{field}.array.{position}.value_id", errors
            )
            values.setdefault(index, []).append(checked_value)
        for index, listed in values.items():
            properties[index][property_.name] = listed


async def put_bulk(
    session: TenantSession,
    kind: Kind,
    ids: IdCodec,
    rows: Sequence[Properties],
    repeated: Sequence[Repeated],
) -> None:
    """Create or replace every row in one statement. Any invalid row refuses the call."""
    schema = await declared(session, kind)
    latest = _bulk_rows(kind, ids, schema, rows, repeated, nulls=False)
    await repository.upsert(session, kind.table, list(latest), list(latest.values()))


async def patch_bulk(
    session: TenantSession,
    kind: Kind,
    ids: IdCodec,
    rows: Sequence[Properties],
    repeated: Sequence[Repeated],
    *,
    create: bool,
) -> None:
    """Change the properties sent of every row; 404 naming some ids when rows are missing
    and not `create`. Any invalid row refuses the call."""
    schema = await declared(session, kind)
    changes = _bulk_rows(kind, ids, schema, rows, repeated, nulls=True)
    if not create:
        missing = await repository.missing(session, kind.table, list(changes), MAX_MISSING)
        if missing:
            wire = [ids.decode(key) for key in missing]
            raise kind.some_not_found(
                f"Some {kind.plural} do not exist, such as {wire[0]}; nothing was written "
                "(create_if_missing: true creates them).",
                data={"type": kind.name, "key": wire[0], kind.plural: wire},
            )
    if changes:
        await _patch_rows(session, kind, changes, create=create)


async def get(session: TenantSession, kind: Kind, ids: IdCodec, wire_id: str) -> Properties:
    key = encoded(ids, wire_id, kind.key)
    properties = await repository.properties(session, kind.table, key)
    if properties is None:
        raise kind.missing(ids.decode(key))
    return {kind.key: ids.decode(key), **_as_declared(await declared(session, kind), properties)}


def _keys(kind: Kind, ids: IdCodec, wire_ids: Sequence[object]) -> list[bytes]:
    """The stored ids of a body's `<kind>s_id`, each once; 400 naming those in error."""
    errors: Errors = {}
    keys = []
    for index, value in enumerate(wire_ids):
        try:
            keys.append(ids.encode(value))
        except InvalidId as error:
            _add(errors, f"{kind.plural}_id.{index}", f"Not a {ids.type_name} id: {error}.")
    if errors:
        raise invalid(errors)
    return list(dict.fromkeys(keys))


async def _names(
    session: TenantSession, kind: Kind, names: Sequence[str] | None
) -> tuple[set[str] | None, dict[str, Declared]]:
    """The property names asked for (None: all), and the declarations; 400 for a name not
    declared."""
    schema = await declared(session, kind)
    if names is None:
        return None, schema
    errors: Errors = {}
    for index, name in enumerate(names):
        if name not in schema:
            _add(errors, f"properties.{index}", f"Not a declared {kind.name} property.")
    if errors:
        raise invalid(errors)
    return set(names), schema


def _shown(
    kind: Kind,
    ids: IdCodec,
    key: bytes,
    properties: Properties,
    names: set[str] | None,
    schema: Mapping[str, Declared],
) -> Properties:
    if names is not None:
        properties = {k: v for k, v in properties.items() if k in names}
    return {kind.key: ids.decode(key), **_as_declared(schema, properties)}


async def list_by_ids(
    session: TenantSession,
    kind: Kind,
    ids: IdCodec,
    wire_ids: Sequence[object],
    names: Sequence[str] | None,
) -> list[Properties]:
    """The rows of the ids that exist, in the order of their ids; others are left out."""
    keys = _keys(kind, ids, wire_ids)
    wanted, schema = await _names(session, kind, names)
    rows = await repository.listed(session, kind.table, keys)
    return [_shown(kind, ids, key, properties, wanted, schema) for key, properties in rows]


async def delete(session: TenantSession, kind: Kind, ids: IdCodec, wire_id: str) -> None:
    """Delete the row: its properties, not its ratings."""
    key = encoded(ids, wire_id, kind.key)
    if not await repository.remove(session, kind.table, key):
        raise kind.missing(ids.decode(key))


async def delete_bulk(
    session: TenantSession, kind: Kind, ids: IdCodec, wire_ids: Sequence[object]
) -> None:
    """Delete the rows of the ids that exist (not their ratings); others are skipped."""
    await repository.remove_many(session, kind.table, _keys(kind, ids, wire_ids))


async def delete_user_entirely(session: TenantSession, ids: IdCodec, wire_id: str) -> None:
    """Delete a user's properties, ratings, interactions and resolved sessions; 404 when it
    had none of them."""
    key = encoded(ids, wire_id, USERS.key)
    had_row = await repository.remove(session, USERS.table, key)
    had_ratings = await repository.remove_history_of_user(session, key)
    if not had_row and not had_ratings:
        raise USERS.missing(ids.decode(key))


async def page(
    session: TenantSession,
    kind: Kind,
    ids: IdCodec,
    cursors: Cursors,
    *,
    cursor: str | None,
    amount: int,
    names: Sequence[str] | None = None,
) -> tuple[list[Properties], str | None]:
    """A page of rows in the order of their ids, and the cursor of the next (or None)."""
    wanted, schema = await _names(session, kind, names)
    after = cursors.decode_key(kind.plural, cursor, 1)
    start = from_base64url(after[0]) if after is not None else None
    rows = await repository.after(session, kind.table, start, amount + 1)
    shown = rows[:amount]
    next_cursor = None
    if len(rows) > amount:
        next_cursor = cursors.encode_key(kind.plural, to_base64url(shown[-1][0]))
    listed = [_shown(kind, ids, key, properties, wanted, schema) for key, properties in shown]
    return listed, next_cursor
