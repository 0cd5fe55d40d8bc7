"""Ratings of the caller's database. Services never commit.

Rating a user or an item that does not exist creates nothing: one rating is a 404 naming
which is missing (the user first); a bulk call naming any is refused whole, listing some
of them, and writes nothing.
"""

import time
from collections.abc import Mapping, Sequence

from tenantry.data.catalog import repository as catalog
from tenantry.data.catalog.ids import IdCodecs, encoded, invalid
from tenantry.data.catalog.service import ITEMS, MAX_ERRORS, USERS, Kind
from tenantry.data.flexible_ids import IdCodec, InvalidId, from_base64url, to_base64url
from tenantry.data.pagination import Cursors
from tenantry.data.ratings import repository
from tenantry.data.ratings.schemas import (
    RatingBulkWrite,
    RatingRead,
    UserRatingRead,
    UserRatingWrite,
)
from tenantry.db.sessions import TenantSession
from tenantry.errors import NotFound

SCOPE = "ratings"
MISSING_SHOWN = 10  # ids of each kind a refused bulk call lists


class RatingNotFound(NotFound):
    code = "RATING_NOT_FOUND"
    default_detail = "This user has not rated this item."


class RatedMissing(NotFound):
    code = "USERS_OR_ITEMS_NOT_FOUND"
    default_detail = "Some ratings name users or items that do not exist; nothing was written."


async def _existing(session: TenantSession, kind: Kind, ids: IdCodecs, wire_id: str) -> bytes:
    """The stored id of a user or item that exists; 404 naming it otherwise."""
    codec = ids.user if kind is USERS else ids.item
    key = encoded(codec, wire_id, kind.key)
    await _check_present(session, kind, codec, key)
    return key


async def _check_present(session: TenantSession, kind: Kind, codec: IdCodec, key: bytes) -> None:
    if not await catalog.present(session, kind.table, key):
        raise kind.missing(codec.decode(key))


async def put(
    session: TenantSession,
    ids: IdCodecs,
    user_id: str,
    item_id: str,
    *,
    score: float,
    timestamp: float | None,
) -> None:
    """Create or replace one rating of a user and an item that both exist."""
    user = encoded(ids.user, user_id, "user_id")
    item = encoded(ids.item, item_id, "item_id")
    await _check_present(session, USERS, ids.user, user)
    await _check_present(session, ITEMS, ids.item, item)
    await repository.upsert(session, [user], [item], [score], [_or_now(timestamp)])


async def delete(session: TenantSession, ids: IdCodecs, user_id: str, item_id: str) -> None:
    user = encoded(ids.user, user_id, "user_id")
    item = encoded(ids.item, item_id, "item_id")
    if not await repository.remove(session, user, item):
        raise RatingNotFound(
            f"The user {ids.user.decode(user)} has not rated the item {ids.item.decode(item)}"
        )


async def _rater(session: TenantSession, ids: IdCodecs, user_id: str) -> bytes:
    """The stored id of a user known to the ratings: one with properties or with ratings.

    Deleting a user's properties keeps its ratings, so a user whose properties are gone
    but who still has ratings is not "not found" for them; a user with neither is 404.
    """
    user = encoded(ids.user, user_id, "user_id")
    if not await repository.any_of_user(session, user):
        await _check_present(session, USERS, ids.user, user)
    return user


async def delete_of_user(session: TenantSession, ids: IdCodecs, user_id: str) -> None:
    user = encoded(ids.user, user_id, "user_id")
    if not await repository.remove_of_user(session, user):
        await _check_present(session, USERS, ids.user, user)


async def of_user(
    session: TenantSession, ids: IdCodecs, user_id: str, *, page: int, amount: int
) -> tuple[list[UserRatingRead], bool]:
    """A page (from 1) of a user's ratings by item id, and whether another follows."""
    user = await _rater(session, ids, user_id)
    rows = await repository.of_user(session, user, offset=(page - 1) * amount, limit=amount + 1)
    shown = [
        UserRatingRead(item_id=ids.item.decode(item), rating=score, timestamp=at)
        for item, score, at in rows[:amount]
    ]
    return shown, len(rows) > amount


async def put_bulk(
    session: TenantSession, ids: IdCodecs, ratings: Sequence[RatingBulkWrite]
) -> None:
    """Create or replace every rating in one statement; a pair sent twice: the last wins."""
    errors: dict[str, list[str]] = {}
    latest: dict[tuple[bytes, bytes], tuple[float, float]] = {}
    now = time.time()
    for index, rating in enumerate(ratings):
        try:
            user = ids.user.encode(rating.user_id)
        except InvalidId as error:
            errors[f"ratings.{index}.user_id"] = [f"Not a {ids.user.type_name} id: {error}."]
        try:
            item = ids.item.encode(rating.item_id)
        except InvalidId as error:
            errors[f"ratings.{index}.item_id"] = [f"Not a {ids.item.type_name} id: {error}."]
        if len(errors) >= MAX_ERRORS:
            break
        if not errors:
            at = now if rating.timestamp is None else rating.timestamp
            latest[user, item] = (rating.rating, at)
    if errors:
        raise invalid(errors)
    await _refuse_missing(session, ids, latest)
    users, items = zip(*latest, strict=True) if latest else ((), ())
    scores, timestamps = zip(*latest.values(), strict=True) if latest else ((), ())
    await repository.upsert(session, users, items, scores, timestamps)


async def _refuse_missing(
    session: TenantSession, ids: IdCodecs, pairs: Mapping[tuple[bytes, bytes], object]
) -> None:
    users = await catalog.missing(
        session, USERS.table, list({user for user, _ in pairs}), MISSING_SHOWN
    )
    items = await catalog.missing(
        session, ITEMS.table, list({item for _, item in pairs}), MISSING_SHOWN
    )
    if not users and not items:
        return
    shown = {
        "users": [ids.user.decode(user) for user in users],
        "items": [ids.item.decode(item) for item in items],
    }
    listed = "; ".join(
        f"{kind}: {', '.join(map(str, found))}" for kind, found in shown.items() if found
    )
    raise RatedMissing(
        f"Nothing was written: these ratings name users or items that do not exist ({listed}).",
        data={"type": "ratings", **shown},
    )


async def page(
    session: TenantSession, ids: IdCodecs, cursors: Cursors, *, cursor: str | None, amount: int
) -> tuple[list[RatingRead], str | None]:
    """A page of ratings in `(user, item)` order, and the cursor of the next (or None)."""
    after = cursors.decode_key(SCOPE, cursor, 2)
    key = (from_base64url(after[0]), from_base64url(after[1])) if after is not None else None
    rows = await repository.after(session, key, amount + 1)
    shown = rows[:amount]
    next_cursor = None
    if len(rows) > amount:
        last = shown[-1]
        next_cursor = cursors.encode_key(SCOPE, to_base64url(last[0]), to_base64url(last[1]))
    ratings = [
        RatingRead(
            user_id=ids.user.decode(user), item_id=ids.item.decode(item), rating=score, timestamp=at
        )
        for user, item, score, at in shown
    ]
    return ratings, next_cursor


def _or_now(timestamp: float | None) -> float:
    return time.time() if timestamp is None else timestamp


async def put_of_user(
    session: TenantSession, ids: IdCodecs, user_id: str, ratings: Sequence[UserRatingWrite]
) -> None:
    """`put_bulk` for one user, named in the path."""
    await _existing(session, USERS, ids, user_id)
    rows = [RatingBulkWrite(user_id=user_id, **rating.model_dump()) for rating in ratings]
    await put_bulk(session, ids, rows)
