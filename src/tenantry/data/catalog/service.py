"""Items and users of the caller's database. Services never commit."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from tenantry.data.catalog import repository
from tenantry.data.catalog.ids import encoded, invalid
from tenantry.data.catalog.schemas import Properties, Repeated
from tenantry.data.flexible_ids import IdCodec, InvalidId, from_base64url, to_base64url
from tenantry.data.pagination import Cursors
from tenantry.db.sessions import TenantSession
from tenantry.errors import NotFound
from tenantry.models.data import Item, User

MAX_ERRORS = 20  # a bulk call's 400 names at most this many fields


class ItemNotFound(NotFound):
    code = "ITEM_NOT_FOUND"
    default_detail = "No item of this database has this id."


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"
    default_detail = "No user of this database has this id."


@dataclass(frozen=True)
class Kind:
    name: str
    plural: str
    table: Table
    not_found: type[NotFound]

    @property
    def key(self) -> str:
        return f"{self.name}_id"

    def missing(self, wire_id: object) -> NotFound:
        return self.not_found(
            f"The {self.name} {wire_id} does not exist",
            data={"type": self.name, "key": wire_id},
        )


ITEMS = Kind("item", "items", Item.__table__, ItemNotFound)  # type: ignore[arg-type]
USERS = Kind("user", "users", User.__table__, UserNotFound)  # type: ignore[arg-type]


async def put(
    session: TenantSession, kind: Kind, ids: IdCodec, wire_id: str, properties: Properties
) -> None:
    """Create the row, or replace its properties."""
    key = encoded(ids, wire_id, kind.key)
    if kind.key in properties:
        raise invalid({f"{kind.name}.{kind.key}": ["The id goes in the path, not here."]})
    await repository.upsert(session, kind.table, [key], [properties])


async def get(session: TenantSession, kind: Kind, ids: IdCodec, wire_id: str) -> Properties:
    key = encoded(ids, wire_id, kind.key)
    properties = await repository.properties(session, kind.table, key)
    if properties is None:
        raise kind.missing(ids.decode(key))
    return {kind.key: ids.decode(key), **properties}


async def delete(session: TenantSession, kind: Kind, ids: IdCodec, wire_id: str) -> None:
    """Delete the row; its ratings go with it."""
    key = encoded(ids, wire_id, kind.key)
    if not await repository.remove(session, kind.table, key):
        raise kind.missing(ids.decode(key))


async def put_bulk(
    session: TenantSession,
    kind: Kind,
    ids: IdCodec,
    rows: Sequence[Properties],
    repeated: Sequence[Repeated],
) -> None:
    """Create or replace every row in one statement; when an id is sent twice, the last
    row wins. Any invalid row refuses the whole call."""
    errors: dict[str, list[str]] = {}
    keys = []
    for index, row in enumerate(rows):
        field = f"{kind.plural}.{index}.{kind.key}"
        try:
            keys.append(ids.encode(row.get(kind.key)))
        except InvalidId as error:
            errors[field] = [f"Not a {ids.type_name} id: {error}."]
        if len(errors) >= MAX_ERRORS:
            break
    properties = [{k: v for k, v in row.items() if k != kind.key} for row in rows]
    _add_repeated(kind, properties, repeated, errors)
    if errors:
        raise invalid(errors)
    latest = dict(zip(keys, properties, strict=True))
    await repository.upsert(session, kind.table, list(latest), list(latest.values()))


def _add_repeated(
    kind: Kind,
    properties: list[Properties],
    repeated: Sequence[Repeated],
    errors: dict[str, list[str]],
) -> None:
    """Merge the clients' repeated properties into the rows' properties, as lists."""
    index_field = f"{kind.name}_index"
    for number, property_ in enumerate(repeated):
        field = f"{kind.plural}_m2m.{number}"
        if property_.name == kind.key:
            errors[f"{field}.name"] = [f"{kind.key} is the id, not a property."]
            continue
        values: dict[int, list[Any]] = {}
        for position, entry in enumerate(property_.array):
            index = entry.get(index_field)
            if type(index) is not int or not 0 <= index < len(properties):
                errors[f"{field}.array.{position}.{index_field}"] = ["Not a row of this call."]
                return
            values.setdefault(index, []).append(entry.get("value_id"))
        for index, listed in values.items():
            properties[index][property_.name] = listed


async def page(
    session: TenantSession,
    kind: Kind,
    ids: IdCodec,
    cursors: Cursors,
    *,
    cursor: str | None,
    amount: int,
) -> tuple[list[Properties], str | None]:
    """A page of rows in the order of their ids, and the cursor of the next (or None)."""
    after = cursors.decode_key(kind.plural, cursor, 1)
    start = from_base64url(after[0]) if after is not None else None
    rows = await repository.after(session, kind.table, start, amount + 1)
    shown = rows[:amount]
    next_cursor = None
    if len(rows) > amount:
        next_cursor = cursors.encode_key(kind.plural, to_base64url(shown[-1][0]))
    return [{kind.key: ids.decode(key), **properties} for key, properties in shown], next_cursor
