"""The audit trail: every change of the control plane, written in the change's own
transaction.

A session that serves someone is `watch`ed with its `Actor` (who, through which door,
from which address). Whatever it then flushes of an audited table — an organization, a
database, an account, an API key, a service account's key — is recorded by the same flush,
on the same connection: created (the row after), updated (the columns that changed, before
and after), deleted (the row before). Of a column named `*_hash` only a change is
said, never its value, and no secret is stored in any other column. What is no row
change (a login, a refused login, a template load) is recorded by `record`, in the
transaction of what it concerns.

Only the control plane is audited: the data plane's writes (spaces, items, ratings) are
not, so the hot path writes nothing here.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from tenantry.models.control import (
    Account,
    ApiKey,
    AuditEvent,
    Database,
    Organization,
    ServiceAccountKey,
)

ACTOR = "tenantry_audit_actor"
AUDITED: dict[type, str] = {
    Organization: "organization",
    Database: "database",
    Account: "account",
    ApiKey: "api_key",
    ServiceAccountKey: "service_account_key",
}
UNRECORDED_CHANGES = frozenset(("updated_at",))  # follows every update: no news


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an account, a key (both when a key acts for its owner), or
    no one known (a registration, the CLI); through which door; from which address."""

    channel: str  # "api", "admin" or "cli"
    org_id: str | None = None
    account_id: str | None = None
    api_key_id: str | None = None
    address: str | None = None


CLI = Actor(channel="cli")


def watch(session: AsyncSession, actor: Actor) -> None:
    """Record every change of an audited table that `session` flushes, as `actor`'s."""
    session.sync_session.info[ACTOR] = actor


async def record(
    session: AsyncSession,
    action: str,
    *,
    actor: Actor | None = None,
    org_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    database_id: str | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Record what is not a row change (a login, a template load) in `session`'s
    transaction, as `actor` (default: the one the session is watched for)."""
    actor = actor or session.sync_session.info.get(ACTOR) or CLI
    row = _row(actor, action, org_id or actor.org_id, target_type, target_id, database_id)
    await session.execute(insert(AuditEvent).values(**row, before=None, after=after))


def _row(
    actor: Actor,
    action: str,
    org_id: str | None,
    target_type: str | None,
    target_id: str | None,
    database_id: str | None,
) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "actor_account_id": actor.account_id,
        "actor_api_key_id": actor.api_key_id,
        "channel": actor.channel,
        "address": actor.address,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "database_id": database_id,
    }


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush: UOWTransaction) -> None:
    """The flush's changes of audited tables, inserted by the flush itself. After the
    flush, ids and defaults are known; the changes' history is still there."""
    actor: Actor | None = session.info.get(ACTOR)
    if actor is None:
        return
    rows = [
        *(_event(actor, "created", each, None, _columns(each)) for each in _audited(session.new)),
        *(
            _event(actor, "updated", each, *changes)
            for each in _audited(session.dirty)
            if (changes := _changes(each)) is not None
        ),
        *(
            _event(actor, "deleted", each, _columns(each), None)
            for each in _audited(session.deleted)
        ),
    ]
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def _audited(objects: Any) -> list[Any]:
    return [each for each in objects if type(each) in AUDITED]


def _event(
    actor: Actor,
    verb: str,
    row: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    kind = AUDITED[type(row)]
    org_id = row.id if isinstance(row, Organization) else getattr(row, "org_id", actor.org_id)
    database_id = row.id if isinstance(row, Database) else getattr(row, "database_id", None)
    action = _action(kind, verb, before, after)
    fields = _row(actor, action, org_id, kind, str(row.id), database_id)
    return {**fields, "before": before, "after": after}


def _action(
    kind: str, verb: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> str:
    """`<kind>.<verb>`, or what an update means when it means one thing: a key revoked,
    an operator granted or revoked."""
    if verb == "updated" and before is not None and after is not None:
        if kind == "api_key" and before.get("revoked_at") is None and after.get("revoked_at"):
            return "api_key.revoked"
        if kind == "account" and "is_operator" in after:
            return "operator.granted" if after["is_operator"] else "operator.revoked"
    return f"{kind}.{verb}"


def _columns(row: Any) -> dict[str, Any]:
    state = inspect(row)
    return {
        attribute.key: _plain(getattr(row, attribute.key))
        for attribute in state.mapper.column_attrs
        if not attribute.key.endswith("_hash")
    }


def _changes(row: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The columns an update changed: (before, after), or None when none did."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    state = inspect(row)
    for attribute in state.mapper.column_attrs:
        key = attribute.key
        history = state.attrs[key].history
        if not history.added or key in UNRECORDED_CHANGES:
            continue
        if key.endswith("_hash"):  # a password or secret changed: said, never shown
            after[key] = "changed"
            continue
        old = history.deleted[0] if history.deleted else None
        if old == history.added[0]:
            continue
        before[key] = _plain(old)
        after[key] = _plain(history.added[0])
    return (before, after) if after else None


def _plain(value: Any) -> Any:
    """`value` as JSON holds it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)
