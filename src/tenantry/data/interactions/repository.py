"""SQL of interactions and resolved sessions, in the caller's schema. A write is one
statement per call, its rows sent as arrays."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Row, Table, any_, literal, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB, distinct_on, insert
from sqlalchemy.sql import func
from sqlalchemy.types import Double, LargeBinary, Text

from tenantry.data.catalog.repository import array
from tenantry.db.sessions import TenantSession
from tenantry.models.data import Interaction, ResolvedSession, SessionInteraction

EVENT = ("timestamp", "item_id", "interaction_type")
LOG_COLUMNS = (*EVENT, "properties")


@dataclass(frozen=True)
class Rows:
    """Interactions to write, as columns; `(owner, timestamp, item, type)` are unique."""

    owners: Sequence[bytes]
    timestamps: Sequence[float]
    items: Sequence[bytes]
    types: Sequence[str]
    properties: Sequence[dict[str, Any]]


def _owner(table: Table) -> Column[Any]:
    return table.primary_key.columns.values()[0]


def _key(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns.values())


def _upsert(table: Table, rows: Rows) -> Any:
    values = (
        func.unnest(
            array(rows.owners, LargeBinary()),
            array(rows.timestamps, Double()),
            array(rows.items, LargeBinary()),
            array(rows.types, Text()),
            array(rows.properties, JSONB()),
        )
        .table_valued("owner", *LOG_COLUMNS)
        .render_derived()
    )
    statement = insert(table).from_select([_owner(table).name, *LOG_COLUMNS], select(*values.c))
    return statement.on_conflict_do_update(
        index_elements=_key(table), set_={"properties": statement.excluded.properties}
    )


def _into_interactions(source: Any) -> Any:
    statement = insert(Interaction).from_select(["user_id", *LOG_COLUMNS], source)
    return statement.on_conflict_do_update(
        index_elements=_key(Interaction.__table__),  # type: ignore[arg-type]
        set_={"properties": statement.excluded.properties},
    )


async def write_of_users(session: TenantSession, rows: Rows) -> None:
    """Insert the interactions, or replace the properties of those already there."""
    await session.execute(_upsert(Interaction.__table__, rows))  # type: ignore[arg-type]


async def write_of_sessions(session: TenantSession, rows: Rows) -> None:
    """`write_of_users` for sessions; in the same statement, each interaction of a session
    already resolved is written for each of its users too."""
    written = (
        _upsert(SessionInteraction.__table__, rows)  # type: ignore[arg-type]
        .returning(*(SessionInteraction.__table__.c[n] for n in ("session_id", *LOG_COLUMNS)))
        .cte("written")
    )
    resolved = (
        select(ResolvedSession.user_id, *(written.c[name] for name in LOG_COLUMNS))
        .join_from(written, ResolvedSession, ResolvedSession.session_id == written.c.session_id)
        .ext(distinct_on(ResolvedSession.user_id, *(written.c[name] for name in EVENT)))
    )
    await session.execute(_into_interactions(resolved).add_cte(written))


async def resolve(session: TenantSession, session_key: bytes, user: bytes, at: float) -> None:
    """Record the resolution (its time replaced if it was there), and copy the session's
    interactions to the user."""
    statement = insert(ResolvedSession).values(user_id=user, session_id=session_key, timestamp=at)
    statement = statement.on_conflict_do_update(
        index_elements=[ResolvedSession.user_id, ResolvedSession.session_id],
        set_={"timestamp": statement.excluded.timestamp},
    )
    await session.execute(statement)
    copied = select(
        literal(user, LargeBinary()), *(SessionInteraction.__table__.c[n] for n in LOG_COLUMNS)
    ).where(SessionInteraction.session_id == session_key)
    await session.execute(_into_interactions(copied))


@dataclass(frozen=True)
class Window:
    """What a list shows: interactions from `start` (inclusive) to `end` (exclusive), of
    `types` only when given."""

    start: float | None = None
    end: float | None = None
    types: Sequence[str] | None = None


async def page(
    session: TenantSession,
    table: Table,
    owner: bytes | None,
    key: tuple[Any, ...] | None,
    limit: int,
    window: Window,
) -> Sequence[Any]:
    """Up to `limit` interactions after `key`: of one owner in `(timestamp, item, type)`
    order when `owner` is given (and `key` is that triple), else of every owner in primary
    key order (`key` is the four of it)."""
    columns = _key(table)
    shown = columns if owner is None else columns[1:]
    query = select(*columns, table.c.properties)
    if owner is not None:
        query = query.where(columns[0] == owner)
    if key is not None:
        query = query.where(tuple_(*shown) > tuple_(*key))
    if window.start is not None:
        query = query.where(table.c.timestamp >= window.start)
    if window.end is not None:
        query = query.where(table.c.timestamp < window.end)
    if window.types:
        query = query.where(table.c.interaction_type == any_(array(window.types, Text())))
    return (await session.execute(query.order_by(*shown).limit(limit))).all()


async def resolved(
    session: TenantSession,
    users: Sequence[bytes] | None,
    key: tuple[bytes, bytes] | None,
    limit: int,
) -> Sequence[Row[bytes, bytes, float]]:
    """Up to `limit` resolutions after `key`, in `(user, session)` order; of `users` only
    when given."""
    query = select(ResolvedSession.user_id, ResolvedSession.session_id, ResolvedSession.timestamp)
    if users is not None:
        query = query.where(ResolvedSession.user_id == any_(array(users, LargeBinary())))
    if key is not None:
        query = query.where(
            tuple_(ResolvedSession.user_id, ResolvedSession.session_id) > tuple_(*key)
        )
    query = query.order_by(ResolvedSession.user_id, ResolvedSession.session_id).limit(limit)
    return (await session.execute(query)).all()
