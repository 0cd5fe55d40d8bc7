"""Ratings, as the Crossing Minds API has them."""

from typing import Annotated

from fastapi import Query

from tenantry.data.access import DataReader, DataWriter
from tenantry.data.catalog.endpoints import Amount, ItemId, NextCursor
from tenantry.data.catalog.ids import Ids
from tenantry.data.frontend import OwnWriter, UserId
from tenantry.data.pagination import Signer
from tenantry.data.ratings import service
from tenantry.data.ratings.schemas import (
    RatingsBulkWrite,
    RatingsPage,
    RatingWrite,
    UserRatingsPage,
    UserRatingsWrite,
)
from tenantry.kernel.versions import V1
from tenantry.routing import Router, body_limit

router = Router(prefix=V1, tags=["ratings"])
MAX_PAGE = 1_000_000

Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page to be listed, from 1.")]
UserAmount = Annotated[int, Query(ge=1, le=1000, description="Ratings per page.")]


@router.put("/users/{user_id}/ratings/{item_id}/", status_code=204)
async def put_rating(
    user_id: UserId, item_id: ItemId, body: RatingWrite, session: OwnWriter, ids: Ids
) -> None:
    """Rate an item for a user; both must exist (404 names the one that does not)."""
    await service.put(session, ids, user_id, item_id, score=body.rating, timestamp=body.timestamp)


@router.delete("/users/{user_id}/ratings/{item_id}/", status_code=204)
async def delete_rating(user_id: UserId, item_id: ItemId, session: OwnWriter, ids: Ids) -> None:
    """Delete one rating."""
    await service.delete(session, ids, user_id, item_id)


@router.get("/users/{user_id}/ratings/")
async def list_user_ratings(
    user_id: UserId, session: DataReader, ids: Ids, page: Page = 1, amt: UserAmount = 64
) -> UserRatingsPage:
    """A user's ratings by item id, a page at a time."""
    ratings, has_next = await service.of_user(session, ids, user_id, page=page, amount=amt)
    return UserRatingsPage(has_next=has_next, next_page=page + 1, user_ratings=ratings)


@router.put("/users/{user_id}/ratings/", status_code=204)
async def put_user_ratings(
    user_id: UserId, body: UserRatingsWrite, session: OwnWriter, ids: Ids
) -> None:
    """Create or replace many ratings of one user."""
    await service.put_of_user(session, ids, user_id, body.ratings)


@router.delete("/users/{user_id}/ratings/", status_code=204)
async def delete_user_ratings(user_id: UserId, session: OwnWriter, ids: Ids) -> None:
    """Delete every rating of a user."""
    await service.delete_of_user(session, ids, user_id)


@router.put("/ratings-bulk/", status_code=204)
@body_limit("max_bulk_body_bytes")
async def put_ratings(body: RatingsBulkWrite, session: DataWriter, ids: Ids) -> None:
    """Create or replace up to 20,000 ratings at once; all users and items must exist."""
    await service.put_bulk(session, ids, body.ratings)


@router.get("/ratings-bulk/")
async def list_ratings(
    session: DataReader, ids: Ids, signer: Signer, amt: Amount = 300, cursor: NextCursor = None
) -> RatingsPage:
    """Every rating, by user then item, a page at a time."""
    ratings, next_cursor = await service.page(session, ids, signer, cursor=cursor, amount=amt)
    return RatingsPage(ratings=ratings, has_next=next_cursor is not None, next_cursor=next_cursor)
