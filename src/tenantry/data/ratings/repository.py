"""SQL of ratings, in the caller's schema; bulk writes are one statement per call."""

from collections.abc import Sequence

from sqlalchemy import Row, delete, exists, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.types import Double, LargeBinary

from tenantry.data.catalog.repository import array
from tenantry.db.sessions import TenantSession
from tenantry.models.data import Rating

COLUMNS = ("user_id", "item_id", "rating", "timestamp")


async def upsert(
    session: TenantSession,
    users: Sequence[bytes],
    items: Sequence[bytes],
    scores: Sequence[float],
    timestamps: Sequence[float],
) -> None:
    """Insert the ratings, or replace those that exist. `(user, item)` pairs are unique."""
    rows = (
        func.unnest(
            array(users, LargeBinary()),
            array(items, LargeBinary()),
            array(scores, Double()),
            array(timestamps, Double()),
        )
        .table_valued(*COLUMNS)
        .render_derived()
    )
    statement = insert(Rating).from_select(list(COLUMNS), select(*rows.c))
    statement = statement.on_conflict_do_update(
        index_elements=[Rating.user_id, Rating.item_id],
        set_={"rating": statement.excluded.rating, "timestamp": statement.excluded.timestamp},
    )
    await session.execute(statement)


async def remove(session: TenantSession, user: bytes, item: bytes) -> bool:
    query = delete(Rating).where(Rating.user_id == user, Rating.item_id == item)
    result = await session.execute(query.returning(Rating.item_id))
    return result.first() is not None


async def remove_of_user(session: TenantSession, user: bytes) -> bool:
    """Delete every rating of the user; whether there was any."""
    query = delete(Rating).where(Rating.user_id == user).returning(Rating.item_id)
    return (await session.execute(query)).first() is not None


async def any_of_user(session: TenantSession, user: bytes) -> bool:
    found = await session.scalar(select(exists().where(Rating.user_id == user)))
    return bool(found)


async def of_user(
    session: TenantSession, user: bytes, *, offset: int, limit: int
) -> Sequence[Row[bytes, float, float]]:
    query = (
        select(Rating.item_id, Rating.rating, Rating.timestamp)
        .where(Rating.user_id == user)
        .order_by(Rating.item_id)
        .offset(offset)
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def after(
    session: TenantSession, key: tuple[bytes, bytes] | None, limit: int
) -> Sequence[Row[bytes, bytes, float, float]]:
    """Up to `limit` ratings after `key`, in `(user, item)` order."""
    query = select(Rating.user_id, Rating.item_id, Rating.rating, Rating.timestamp)
    if key is not None:
        query = query.where(tuple_(Rating.user_id, Rating.item_id) > tuple_(*key))
    query = query.order_by(Rating.user_id, Rating.item_id).limit(limit)
    return (await session.execute(query)).all()
