"""Interactions of users and of anonymous sessions, and sessions resolved to users, in the
caller's database. Services never commit.

An interaction is an event: `(owner, timestamp, item, interaction_type)` names it, and one
sent again replaces the properties of the one stored. The users and items it names must
exist (as for ratings): one interaction is a 404 naming the one missing, a bulk call
naming any is refused whole. Sessions are not rows of their own: any id of the session id
type names one.

Resolving a session to a user copies the session's interactions to the user, and every
interaction the session gets afterwards is written for the user too; the session keeps its
own. So a user's interactions are everything the user did, anonymous or not, and a
trainer reads users from `interactions` alone.
"""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from tenantry.data.catalog import repository as catalog
from tenantry.data.catalog.ids import IdCodecs, encoded, invalid
from tenantry.data.catalog.service import ITEMS, MAX_ERRORS, USERS, Kind
from tenantry.data.flexible_ids import IdCodec, InvalidId, from_base64url, to_base64url
from tenantry.data.interactions import repository
from tenantry.data.interactions.ids import SessionIdCodecs
from tenantry.data.interactions.repository import Rows, Window
from tenantry.data.interactions.schemas import (
    InteractionWrite,
    ItemInteractionWrite,
    ResolvedSessionRead,
)
from tenantry.data.pagination import Cursors, InvalidCursor
from tenantry.db.sessions import TenantSession
from tenantry.errors import NotFound
from tenantry.models.data import Interaction, SessionInteraction

MISSING_SHOWN = 10  # ids of each kind a refused bulk call lists
RESOLVED = "resolved-sessions"
Errors = dict[str, list[str]]


class InteractedMissing(NotFound):
    code = "USERS_OR_ITEMS_NOT_FOUND"
    default_detail = "Some interactions name users or items that do not exist; nothing was written."


@dataclass(frozen=True)
class Log:
    """Whose interactions: users' (who must exist) or anonymous sessions'."""

    name: str
    table: Table
    checked: Kind | None

    @property
    def key(self) -> str:
        return f"{self.name}_id"

    def scope(self, owner: bytes | None) -> str:
        """The cursors' scope: the list of every owner, or of one."""
        every = f"{self.name}-interactions"
        return every if owner is None else f"{every}:{to_base64url(owner)}"


USER_LOG = Log("user", Interaction.__table__, USERS)  # type: ignore[arg-type]
SESSION_LOG = Log("session", SessionInteraction.__table__, None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Codecs:
    """The id types of an interaction log: its owners' and the items'."""

    owner: IdCodec
    item: IdCodec


def user_codecs(ids: IdCodecs) -> Codecs:
    return Codecs(ids.user, ids.item)


def session_codecs(ids: SessionIdCodecs) -> Codecs:
    return Codecs(ids.session, ids.item)


# --- writes --------------------------------------------------------------------------------


async def create(
    session: TenantSession,
    log: Log,
    codecs: Codecs,
    owner_id: str,
    item_id: str,
    interaction: InteractionWrite,
) -> None:
    """One interaction of an owner and an item named in the path."""
    owner = encoded(codecs.owner, owner_id, log.key)
    item = encoded(codecs.item, item_id, "item_id")
    if log.checked is not None:
        await _check_present(session, log.checked, codecs.owner, owner)
    await _check_present(session, ITEMS, codecs.item, item)
    row = ItemInteractionWrite(item_id=item_id, **interaction.model_dump())
    await _write(session, log, _rows([owner], [item], [row]))


async def create_of_owner(
    session: TenantSession,
    log: Log,
    codecs: Codecs,
    owner_id: str,
    interactions: Sequence[ItemInteractionWrite],
) -> None:
    """Many interactions of one owner, named in the path."""
    owner = encoded(codecs.owner, owner_id, log.key)
    if log.checked is not None:
        await _check_present(session, log.checked, codecs.owner, owner)
    errors: Errors = {}
    items = _encoded_all(codecs.item, [row.item_id for row in interactions], "item_id", errors)
    if errors:
        raise invalid(errors)
    await _refuse_missing(session, codecs, None, items)
    await _write(session, log, _rows([owner] * len(items), items, interactions))


async def create_bulk(
    session: TenantSession, log: Log, codecs: Codecs, interactions: Sequence[Any]
) -> None:
    """Interactions of many owners (rows of `UserInteractionWrite` or
    `SessionInteractionWrite`): all written in one statement, or none."""
    errors: Errors = {}
    owners = _encoded_all(
        codecs.owner, [getattr(r, log.key) for r in interactions], log.key, errors
    )
    items = _encoded_all(codecs.item, [row.item_id for row in interactions], "item_id", errors)
    if errors:
        raise invalid(dict(sorted(errors.items(), key=lambda error: _position(error[0]))))
    await _refuse_missing(session, codecs, owners if log.checked else None, items)
    await _write(session, log, _rows(owners, items, interactions))


def _position(field: str) -> tuple[int, str]:
    """`interactions.12.item_id` → (12, "item_id"): errors in the order of the rows."""
    _, index, name = field.split(".")
    return int(index), name


def _encoded_all(
    codec: IdCodec, values: Sequence[object], name: str, errors: Errors
) -> list[bytes]:
    """The stored ids of `values`; the ones that are not ids of the type are named in
    `errors` (as `interactions.<index>.<name>`, up to `MAX_ERRORS` in all)."""
    keys = []
    for index, value in enumerate(values):
        try:
            keys.append(codec.encode(value))
        except InvalidId as error:
            if len(errors) < MAX_ERRORS:
                errors[f"interactions.{index}.{name}"] = [f"Not a {codec.type_name} id: {error}."]
    return keys


def _rows(
    owners: Sequence[bytes], items: Sequence[bytes], interactions: Sequence[InteractionWrite]
) -> Rows:
    """The rows to write: an interaction sent twice in one call (same owner, time, item
    and type), the last one; no timestamp, the time of the call."""
    now = time.time()
    latest: dict[tuple[bytes, float, bytes, str], dict[str, Any]] = {}
    for owner, item, row in zip(owners, items, interactions, strict=True):
        at = now if row.timestamp is None else row.timestamp
        latest[owner, at, item, row.interaction_type] = row.properties
    keys = list(latest)
    return Rows(
        owners=[key[0] for key in keys],
        timestamps=[key[1] for key in keys],
        items=[key[2] for key in keys],
        types=[key[3] for key in keys],
        properties=list(latest.values()),
    )


async def _write(session: TenantSession, log: Log, rows: Rows) -> None:
    if not rows.owners:
        return
    if log is SESSION_LOG:
        await repository.write_of_sessions(session, rows)
    else:
        await repository.write_of_users(session, rows)


async def _check_present(session: TenantSession, kind: Kind, codec: IdCodec, key: bytes) -> None:
    if not await catalog.present(session, kind.table, key):
        raise kind.missing(codec.decode(key))


async def _refuse_missing(
    session: TenantSession, codecs: Codecs, users: Sequence[bytes] | None, items: Sequence[bytes]
) -> None:
    """404 listing some of the users (when checked) and items that do not exist."""
    missing_users = (
        await catalog.missing(session, USERS.table, list(set(users)), MISSING_SHOWN)
        if users is not None
        else []
    )
    missing_items = await catalog.missing(session, ITEMS.table, list(set(items)), MISSING_SHOWN)
    if not missing_users and not missing_items:
        return
    shown = {
        "users": [codecs.owner.decode(user) for user in missing_users],
        "items": [codecs.item.decode(item) for item in missing_items],
    }
    listed = "; ".join(
        f"{kind}: {', '.join(map(str, found))}" for kind, found in shown.items() if found
    )
    raise InteractedMissing(
        f"Nothing was written: these interactions name users or items that do not exist "
        f"({listed}).",
        data={"type": "interactions", **shown},
    )


# --- lists ---------------------------------------------------------------------------------


async def page(
    session: TenantSession,
    log: Log,
    codecs: Codecs,
    cursors: Cursors,
    *,
    owner_id: str | None,
    cursor: str | None,
    amount: int,
    window: Window,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of interactions, of one owner (in time order) or of all (by owner, then
    time), and the cursor of the next page (or None)."""
    owner = None
    if owner_id is not None:
        owner = encoded(codecs.owner, owner_id, log.key)
        if log.checked is not None:
            await _check_present(session, log.checked, codecs.owner, owner)
    scope = log.scope(owner)
    key = _decode_key(cursors, scope, cursor, every=owner is None)
    rows = await repository.page(session, log.table, owner, key, amount + 1, window)
    shown = rows[:amount]
    next_cursor = None
    if len(rows) > amount:
        next_cursor = _encode_key(cursors, scope, shown[-1], every=owner is None)
    return [_read(log, codecs, row, every=owner is None) for row in shown], next_cursor


def _read(log: Log, codecs: Codecs, row: Any, *, every: bool) -> dict[str, Any]:
    owner, at, item, interaction_type, properties = row
    read = {
        "item_id": codecs.item.decode(item),
        "interaction_type": interaction_type,
        "timestamp": at,
        "properties": properties,
    }
    return {log.key: codecs.owner.decode(owner), **read} if every else read


def _encode_key(cursors: Cursors, scope: str, row: Any, *, every: bool) -> str:
    owner, at, item, interaction_type, _ = row
    parts = (repr(at), to_base64url(item), interaction_type)
    return cursors.encode_key(scope, *((to_base64url(owner),) if every else ()), *parts)


def _decode_key(
    cursors: Cursors, scope: str, cursor: str | None, *, every: bool
) -> tuple[Any, ...] | None:
    parts = cursors.decode_key(scope, cursor, 4 if every else 3)
    if parts is None:
        return None
    try:
        *owner, at, item, interaction_type = parts
        timestamp = float(at)
        if not math.isfinite(timestamp):
            raise InvalidCursor
        key = (timestamp, from_base64url(item), interaction_type)
        return (from_base64url(owner[0]), *key) if every else key
    except ValueError as error:
        raise InvalidCursor from error


def window(start: float | None, end: float | None, types: Sequence[str] | None = None) -> Window:
    """The interactions a list shows: `start` ≤ timestamp < `end`; 400 when that is empty."""
    if start is not None and end is not None and start >= end:
        message = "The time frame is empty: start_timestamp must come before end_timestamp."
        raise invalid({"start_timestamp": [message], "end_timestamp": [message]})
    return Window(start=start, end=end, types=types)


# --- resolved sessions ---------------------------------------------------------------------


async def resolve(
    session: TenantSession,
    ids: SessionIdCodecs,
    session_id: str,
    user_id: object,
    timestamp: float | None,
) -> None:
    """Resolve a session to a user who exists; the session's interactions become the
    user's too. Resolving it again only moves the time of the resolution."""
    session_key = encoded(ids.session, session_id, "session_id")
    user = encoded(ids.user, user_id, "user_id")
    await _check_present(session, USERS, ids.user, user)
    at = time.time() if timestamp is None else timestamp
    await repository.resolve(session, session_key, user, at)


async def resolved(
    session: TenantSession,
    ids: SessionIdCodecs,
    cursors: Cursors,
    *,
    users_id: Sequence[object] | None,
    cursor: str | None,
    amount: int,
) -> tuple[list[ResolvedSessionRead], str | None]:
    """A page of resolutions by user then session, of `users_id` only when given."""
    users = None
    if users_id is not None:
        errors: Errors = {}
        users = _encoded_all(ids.user, users_id, "user_id", errors)
        if errors:
            raise invalid({f"users_id.{_position(field)[0]}": e for field, e in errors.items()})
    after = cursors.decode_key(RESOLVED, cursor, 2)
    key = (from_base64url(after[0]), from_base64url(after[1])) if after is not None else None
    rows = await repository.resolved(session, users, key, amount + 1)
    shown = rows[:amount]
    next_cursor = None
    if len(rows) > amount:
        last = shown[-1]
        next_cursor = cursors.encode_key(RESOLVED, to_base64url(last[0]), to_base64url(last[1]))
    read = [
        ResolvedSessionRead(
            session_id=ids.session.decode(session_key), user_id=ids.user.decode(user), timestamp=at
        )
        for user, session_key, at in shown
    ]
    return read, next_cursor
