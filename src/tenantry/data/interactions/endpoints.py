"""Interactions and anonymous sessions, at the paths of the Crossing Minds Python clients
(0.6 and 0.7): `/v1/users/{id}/interactions…`, `/v1/interactions-bulk/`,
`/v1/sessions/{id}/…`, `/v1/sessions-interactions-bulk/`, `/v1/resolved-sessions/`."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Body, Depends, Path, Query, Request
from pydantic import StringConstraints

from tenantry.data.access import DataReader, DataWriter
from tenantry.data.catalog.ids import Ids, invalid
from tenantry.data.frontend import OwnWriter, SessionId, UserId
from tenantry.data.interactions import service
from tenantry.data.interactions.ids import SessionIds
from tenantry.data.interactions.schemas import (
    INTERACTION_TYPE,
    MAX_AMOUNT,
    MAX_TYPE_LENGTH,
    Created,
    InteractionWrite,
    ItemInteractionsPage,
    ItemInteractionsWrite,
    ResolvedSessionsPage,
    ResolvedSessionsQuery,
    SessionInteractionsPage,
    SessionInteractionsWrite,
    SessionResolve,
    UserInteractionsPage,
    UserInteractionsWrite,
)
from tenantry.data.interactions.service import SESSION_LOG, USER_LOG
from tenantry.data.pagination import MAX_CURSOR_LENGTH, Signer
from tenantry.kernel.versions import V1
from tenantry.routing import Router, body_limit

router = Router(prefix=V1, tags=["interactions and sessions"])

ItemId = Annotated[str, Path(max_length=200, description="An id of the item_id_type.")]
Amount = Annotated[int, Query(ge=1, le=MAX_AMOUNT, description="Rows per page.")]
NextCursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."),
]
Start = Annotated[
    float | None,
    Query(ge=0, allow_inf_nan=False, description="Only interactions at or after this time."),
]
End = Annotated[
    float | None, Query(ge=0, allow_inf_nan=False, description="Only interactions before it.")
]
Types = Annotated[
    list[Annotated[str, StringConstraints(max_length=MAX_TYPE_LENGTH, pattern=INTERACTION_TYPE)]]
    | None,
    Query(max_length=100, description="Only interactions of these types (default: all)."),
]


def _only(*names: str) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency refusing (400) query parameters other than `names`."""

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            raise invalid({name: ["Not a parameter of this list."] for name in unknown})

    return check


TIMED_LIST = Depends(_only("amt", "cursor", "start_timestamp", "end_timestamp"))


# --- users ---------------------------------------------------------------------------------


@router.post("/users/{user_id}/interactions/{item_id}/", status_code=201)
async def create_interaction(
    user_id: UserId, item_id: ItemId, body: InteractionWrite, session: OwnWriter, ids: Ids
) -> Created:
    """Record an interaction of a user with an item; both must exist."""
    codecs = service.user_codecs(ids)
    await service.create(session, USER_LOG, codecs, user_id, item_id, body)
    return Created()


@router.post("/users/{user_id}/interactions-bulk/", status_code=201)
@body_limit("max_bulk_body_bytes")
async def create_user_interactions(
    user_id: UserId, body: ItemInteractionsWrite, session: OwnWriter, ids: Ids
) -> Created:
    """Record up to 20,000 interactions of one user; all items must exist."""
    codecs = service.user_codecs(ids)
    await service.create_of_owner(session, USER_LOG, codecs, user_id, body.interactions)
    return Created()


@router.get(
    "/users/{user_id}/interactions-bulk/",
    dependencies=[Depends(_only("amt", "cursor", "interaction_types"))],
)
async def list_user_interactions(
    user_id: UserId,
    session: DataReader,
    ids: Ids,
    signer: Signer,
    amt: Amount = 300,
    cursor: NextCursor = None,
    interaction_types: Types = None,
) -> ItemInteractionsPage:
    """A user's interactions in time order, a page at a time."""
    rows, next_cursor = await service.page(
        session,
        USER_LOG,
        service.user_codecs(ids),
        signer,
        owner_id=user_id,
        cursor=cursor,
        amount=amt,
        window=service.window(None, None, interaction_types),
    )
    return ItemInteractionsPage.model_validate(
        {"interactions": rows, "has_next": next_cursor is not None, "next_cursor": next_cursor}
    )


@router.post("/interactions-bulk/", status_code=201)
@body_limit("max_bulk_body_bytes")
async def create_interactions(
    body: UserInteractionsWrite, session: DataWriter, ids: Ids
) -> Created:
    """Record up to 20,000 interactions at once; all users and items must exist."""
    await service.create_bulk(session, USER_LOG, service.user_codecs(ids), body.interactions)
    return Created()


@router.get("/interactions-bulk/", dependencies=[TIMED_LIST])
async def list_interactions(
    session: DataReader,
    ids: Ids,
    signer: Signer,
    amt: Amount = 300,
    cursor: NextCursor = None,
    start_timestamp: Start = None,
    end_timestamp: End = None,
) -> UserInteractionsPage:
    """Every user's interactions, by user then time, a page at a time."""
    rows, next_cursor = await service.page(
        session,
        USER_LOG,
        service.user_codecs(ids),
        signer,
        owner_id=None,
        cursor=cursor,
        amount=amt,
        window=service.window(start_timestamp, end_timestamp),
    )
    return UserInteractionsPage.model_validate(
        {"interactions": rows, "has_next": next_cursor is not None, "next_cursor": next_cursor}
    )


# --- anonymous sessions --------------------------------------------------------------------


@router.post("/sessions/{session_id}/items/{item_id}/interactions/", status_code=201)
async def create_session_interaction(
    session_id: SessionId,
    item_id: ItemId,
    body: InteractionWrite,
    session: OwnWriter,
    ids: SessionIds,
) -> Created:
    """Record an interaction of an anonymous session with an item, which must exist."""
    codecs = service.session_codecs(ids)
    await service.create(session, SESSION_LOG, codecs, session_id, item_id, body)
    return Created()


@router.post("/sessions/{session_id}/interactions-bulk/", status_code=201)
@body_limit("max_bulk_body_bytes")
async def create_session_interactions(
    session_id: SessionId, body: ItemInteractionsWrite, session: OwnWriter, ids: SessionIds
) -> Created:
    """Record up to 20,000 interactions of one anonymous session; all items must exist."""
    codecs = service.session_codecs(ids)
    await service.create_of_owner(session, SESSION_LOG, codecs, session_id, body.interactions)
    return Created()


@router.get(
    "/sessions/{session_id}/interactions-bulk/", dependencies=[Depends(_only("amt", "cursor"))]
)
async def list_session_interactions(
    session_id: SessionId,
    session: DataReader,
    ids: SessionIds,
    signer: Signer,
    amt: Amount = 300,
    cursor: NextCursor = None,
) -> ItemInteractionsPage:
    """An anonymous session's interactions in time order, a page at a time."""
    rows, next_cursor = await service.page(
        session,
        SESSION_LOG,
        service.session_codecs(ids),
        signer,
        owner_id=session_id,
        cursor=cursor,
        amount=amt,
        window=service.window(None, None),
    )
    return ItemInteractionsPage.model_validate(
        {"interactions": rows, "has_next": next_cursor is not None, "next_cursor": next_cursor}
    )


@router.post("/sessions-interactions-bulk/", status_code=201)
@body_limit("max_bulk_body_bytes")
async def create_sessions_interactions(
    body: SessionInteractionsWrite, session: DataWriter, ids: SessionIds
) -> Created:
    """Record up to 20,000 interactions of anonymous sessions; all items must exist."""
    codecs = service.session_codecs(ids)
    await service.create_bulk(session, SESSION_LOG, codecs, body.interactions)
    return Created()


@router.get("/sessions-interactions-bulk/", dependencies=[TIMED_LIST])
async def list_sessions_interactions(
    session: DataReader,
    ids: SessionIds,
    signer: Signer,
    amt: Amount = 300,
    cursor: NextCursor = None,
    start_timestamp: Start = None,
    end_timestamp: End = None,
) -> SessionInteractionsPage:
    """Every anonymous session's interactions, by session then time, a page at a time."""
    rows, next_cursor = await service.page(
        session,
        SESSION_LOG,
        service.session_codecs(ids),
        signer,
        owner_id=None,
        cursor=cursor,
        amount=amt,
        window=service.window(start_timestamp, end_timestamp),
    )
    return SessionInteractionsPage.model_validate(
        {"interactions": rows, "has_next": next_cursor is not None, "next_cursor": next_cursor}
    )


@router.post("/sessions/{session_id}/resolve/", status_code=204)
async def resolve_session(
    session_id: SessionId, body: SessionResolve, session: DataWriter, ids: SessionIds
) -> None:
    """Resolve an anonymous session to a user: its interactions become the user's too."""
    await service.resolve(session, ids, session_id, body.user_id, body.timestamp)


@router.post("/resolved-sessions/")
async def list_resolved_sessions(
    session: DataReader,
    ids: SessionIds,
    signer: Signer,
    body: Annotated[ResolvedSessionsQuery | None, Body()] = None,
) -> ResolvedSessionsPage:
    """Sessions resolved to users (to `users_id` only, when given), a page at a time. With
    no body (the client sends none when it has no argument to give), every user's."""
    body = body or ResolvedSessionsQuery()
    rows, next_cursor = await service.resolved(
        session, ids, signer, users_id=body.users_id, cursor=body.cursor, amount=body.amt
    )
    return ResolvedSessionsPage(
        resolved_sessions=rows, has_next=next_cursor is not None, next_cursor=next_cursor
    )
