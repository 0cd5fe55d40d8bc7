"""Recommendations, background tasks and trained models, at the paths of the Crossing Minds
Python client: `/v1/recommendation/…`, `/v1/tasks/{name}/…`, `/v1/pretrained-ml/…`."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import StringConstraints

from tenantry.auth.context import BackendOrAbove, RootOrManager
from tenantry.data.access import DataReader, DataWriter, ReadSchema, WriteSchema
from tenantry.data.catalog.ids import IdCodecs, Ids, encoded, invalid
from tenantry.data.interactions.ids import SessionIds
from tenantry.data.pagination import MAX_CURSOR_LENGTH, Cursors, Signer
from tenantry.data.recommendations import service
from tenantry.data.recommendations.cache import ModelCache
from tenantry.data.recommendations.engine import Model
from tenantry.data.recommendations.schemas import (
    ContextSessionQuery,
    ContextUserQuery,
    GenericQuery,
    InteractionRatingRead,
    InteractionRatings,
    InteractionRatingWrite,
    ItemPropertiesQuery,
    ItemsPage,
    Precomputed,
    PropertiesPage,
    Rules,
    SessionPropertiesQuery,
    SessionQuery,
    Task,
    TasksPage,
    TaskTriggered,
    TrainedModel,
    TrainedModels,
    UsersGroupQuery,
)
from tenantry.data.recommendations.service import Ask, Subject
from tenantry.data.recommendations.training import DEFAULT_RATING, DEFAULT_RATINGS, TASK_NAMES
from tenantry.db.sessions import TenantSession, after_commit
from tenantry.kernel.versions import V1
from tenantry.routing import Router, hot


async def _declared_parameters_only(request: Request) -> None:
    """400 naming each query parameter the route does not declare, as the lists do. (The hot
    layer leaves a request with such a parameter to the application, which checks it here.)"""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _query_names(route.dependant))
    if unknown:
        raise invalid({name: ["Not a parameter of this route."] for name in unknown})


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


router = Router(
    prefix=V1, tags=["recommendations"], dependencies=[Depends(_declared_parameters_only)]
)

ItemId = Annotated[str, Path(max_length=200, description="An id of the item_id_type.")]
UserId = Annotated[str, Path(max_length=200, description="An id of the user_id_type.")]
PropertyName = Annotated[str, Path(max_length=64, description="An item property's name.")]
Amount = Annotated[int | None, Query(ge=1, le=64, description="Items at most (default 16).")]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)]
Rule = Annotated[str, StringConstraints(max_length=1000)]
Filters = Annotated[list[Rule] | None, Query(max_length=10, description="`prop:op[:value]`")]
Reranking = Annotated[list[Rule] | None, Query(max_length=10, description="`prop:op:weight`")]
Scenario = Annotated[str | None, Query(max_length=64)]
TaskName = Annotated[str, Path(max_length=64, description="; ".join(TASK_NAMES))]


@dataclass
class Recommender:
    """What every recommendation route works with: the caller's database (a read session),
    the codecs of its ids and the signer of its cursors. Its model is loaded when the route
    asks (`model`), after the request's parameters were checked."""

    request: Request
    session: TenantSession
    schema: str
    ids: IdCodecs
    signer: Cursors

    async def model(self) -> Model:
        cache: ModelCache = self.request.app.state.reco_cache
        return await service.model(self.session, cache, self.schema)

    async def page(self, trained: Model, reco_type: str, subject: Subject, ask: Ask) -> ItemsPage:
        """The page of items `ask` asks for, ranked for `subject` by `trained`."""
        page = await service.recommend(
            self.session,
            trained,
            self.signer,
            self.ids.item,
            reco_type=reco_type,
            subject=subject,
            ask=ask,
        )
        return ItemsPage(
            items_id=page.items_id,
            next_cursor=page.next_cursor,
            evaluated_scenarios=page.evaluated_scenarios,
        )


async def _recommender(
    request: Request, session: DataReader, schema: ReadSchema, ids: Ids, signer: Signer
) -> Recommender:
    return Recommender(request, session, schema, ids, signer)


Recommending = Annotated[Recommender, Depends(_recommender)]


def _asked(body: Rules) -> Ask:
    """What a POSTed recommendation asks besides its subject."""
    return Ask(
        body.amt,
        body.cursor,
        body.filters,
        body.reranking,
        getattr(body, "exclude_rated_items", None),
        body.scenario,
        body.skip_default_scenario,
    )


# --- item to items -------------------------------------------------------------------------


@router.get("/recommendation/items/{item_id}/items/")
async def item_to_items(
    item_id: ItemId,
    rec: Recommending,
    amt: Amount = None,
    cursor: Cursor = None,
    filters: Filters = None,
    reranking: Reranking = None,
    scenario: Scenario = None,
    skip_default_scenario: bool = False,
    user_id: Annotated[str | None, Query(max_length=200)] = None,
    session_id: Annotated[str | None, Query(max_length=200)] = None,
) -> ItemsPage:
    """Items similar to an item (never the item itself)."""
    trained = await rec.model()
    subject = await service.of_item(rec.session, trained, rec.ids, item_id)
    if user_id is not None:
        subject.key = encoded(rec.ids.user, user_id, "user_id")
    ask = Ask(amt, cursor, filters, reranking, None, scenario, skip_default_scenario)
    return await rec.page(trained, "item_to_items", subject, ask)


@router.post("/recommendation/items-properties/items/")
async def item_properties_to_items(body: ItemPropertiesQuery, rec: Recommending) -> ItemsPage:
    """Items like those holding the given property values."""
    trained = await rec.model()
    subject = await service.of_properties(rec.session, trained, body.item_properties)
    return await rec.page(trained, "item_properties_to_items", subject, _asked(body))


# --- user to items -------------------------------------------------------------------------


@router.get("/recommendation/users/{user_id}/items/")
async def user_to_items(
    user_id: UserId,
    rec: Recommending,
    amt: Amount = None,
    cursor: Cursor = None,
    filters: Filters = None,
    reranking: Reranking = None,
    exclude_rated_items: bool | None = None,
    scenario: Scenario = None,
    skip_default_scenario: bool = False,
) -> ItemsPage:
    """Items for a user: by its factors, or by what it rated since the last training."""
    trained = await rec.model()
    subject = await service.of_user(rec.session, trained, rec.ids, user_id, ())
    ask = Ask(amt, cursor, filters, reranking, exclude_rated_items, scenario, skip_default_scenario)
    return await rec.page(trained, "profile_to_items", subject, ask)


@router.post("/recommendation/context-items/users/{user_id}/items/")
async def user_to_items_with_context(
    user_id: UserId, body: ContextUserQuery, rec: Recommending
) -> ItemsPage:
    """Items for a user who is looking at some items now."""
    trained = await rec.model()
    context = service.context_items(trained, rec.ids.item, body.context_items)
    subject = await service.of_user(rec.session, trained, rec.ids, user_id, context)
    subject.excluded = context
    return await rec.page(trained, "profile_to_items_w_ctx_items", subject, _asked(body))


@router.post("/recommendation/users-groups/items/")
async def users_group_to_items(body: UsersGroupQuery, rec: Recommending) -> ItemsPage:
    """Items for a group of users (`consensus_factor` 0: on average; 1: for the least
    satisfied)."""
    trained = await rec.model()
    subject = await service.of_users_group(
        rec.session, trained, rec.ids, body.users, body.consensus_factor
    )
    return await rec.page(trained, "users_group_to_items", subject, _asked(body))


# --- anonymous sessions --------------------------------------------------------------------


async def _session_subject(
    rec: Recommender, trained: Model, sessions: SessionIds, body: SessionQuery, context: list[int]
) -> Subject:
    """A session's scores; its key (what an A/B split reads) the stored form of its user's
    id, else of its session's (by the database's session id type)."""
    subject = await _given(rec, trained, body, context)
    if body.session_id is not None:
        subject.key = encoded(sessions.session, body.session_id, "session_id")
    if body.user_id is not None:
        subject.key = encoded(rec.ids.user, body.user_id, "user_id")
    return subject


async def _given(
    rec: Recommender,
    trained: Model,
    body: SessionQuery | SessionPropertiesQuery,
    context: list[int] | tuple[()] = (),
) -> Subject:
    """The scores of the ratings and interactions a body sends."""
    implied = await service.implied_ratings(rec.session) if body.interactions else DEFAULT_RATINGS
    ratings, interactions = body.ratings or [], body.interactions or []
    return service.of_session(trained, rec.ids, ratings, interactions, context, implied)


@router.post("/recommendation/sessions/items/")
async def session_to_items(
    body: SessionQuery, rec: Recommending, sessions: SessionIds
) -> ItemsPage:
    """Items for an anonymous session, from the ratings or interactions sent."""
    trained = await rec.model()
    subject = await _session_subject(rec, trained, sessions, body, [])
    return await rec.page(trained, "session_to_items", subject, _asked(body))


@router.post("/recommendation/context-items/sessions/items/")
async def session_to_items_with_context(
    body: ContextSessionQuery, rec: Recommending, sessions: SessionIds
) -> ItemsPage:
    """Items for an anonymous session looking at some items now."""
    trained = await rec.model()
    context = service.context_items(trained, rec.ids.item, body.context_items)
    subject = await _session_subject(rec, trained, sessions, body, context)
    subject.excluded = context
    return await rec.page(trained, "session_to_items_w_ctx_items", subject, _asked(body))


@router.post("/recommendation/generic/items/")
async def generic_to_items(
    body: GenericQuery, rec: Recommending, sessions: SessionIds
) -> ItemsPage:
    """Items for whatever is given: a user, else an item, else a session's data."""
    trained = await rec.model()
    ids = rec.ids
    context = service.context_items(trained, ids.item, body.context_items or [])
    if body.user_id is not None:
        wire = str(ids.user.decode(encoded(ids.user, body.user_id, "user_id")))
        subject = await service.of_user(rec.session, trained, ids, wire, context)
        reco_type = "profile_to_items"
    elif body.item_id is not None:
        wire = str(ids.item.decode(encoded(ids.item, body.item_id, "item_id")))
        subject = await service.of_item(rec.session, trained, ids, wire)
        reco_type = "item_to_items"
    else:
        subject = await _session_subject(rec, trained, sessions, body, context)
        reco_type = "session_to_items"
    subject.excluded = [*subject.excluded, *context]
    return await rec.page(trained, reco_type, subject, _asked(body))


# --- item properties -----------------------------------------------------------------------


@router.get("/recommendation/users/{user_id}/items-properties/{item_property_name}/")
async def user_to_item_properties(
    user_id: UserId,
    item_property_name: PropertyName,
    rec: Recommending,
    amt: Amount = None,
    filters: Filters = None,
    scenario: Scenario = None,
    skip_default_scenario: bool = False,
) -> PropertiesPage:
    """Values of an item property for a user: those its best items hold."""
    trained = await rec.model()
    subject = await service.of_user(rec.session, trained, rec.ids, user_id, ())
    values = await service.property_values(
        rec.session, trained, subject, item_property_name, amount=amt, asked_filters=filters
    )
    return PropertiesPage(properties=values)


@router.post("/recommendation/sessions/items-properties/{item_property_name}/")
async def session_to_item_properties(
    item_property_name: PropertyName, body: SessionPropertiesQuery, rec: Recommending
) -> PropertiesPage:
    """Values of an item property for an anonymous session."""
    trained = await rec.model()
    subject = await _given(rec, trained, body)
    values = await service.property_values(
        rec.session,
        trained,
        subject,
        item_property_name,
        amount=body.amt,
        asked_filters=body.filters,
    )
    return PropertiesPage(properties=values)


# --- precomputed ---------------------------------------------------------------------------


@router.get("/recommendation/precomputed/items/{item_id}/items/", response_model=Precomputed)
@hot
async def precomputed_item_to_items(
    item_id: ItemId,
    request: Request,
    schema: ReadSchema,
    ids: Ids,
    table: Annotated[str | None, Query(max_length=200)] = None,
    scenario: Scenario = None,
    skip_default_scenario: bool = False,
    user_id: Annotated[str | None, Query(max_length=200)] = None,
    session_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """An item's recommendations as the last training computed them."""
    lanes = request.app.state.lanes
    items = await service.precomputed(lanes, schema, ids, kind="item", wire_id=item_id)
    return _json(Precomputed(items_id=items))


@router.get("/recommendation/precomputed/users/{user_id}/items/", response_model=Precomputed)
@hot
async def precomputed_user_to_items(
    user_id: UserId,
    request: Request,
    schema: ReadSchema,
    ids: Ids,
    table: Annotated[str | None, Query(max_length=200)] = None,
    scenario: Scenario = None,
    skip_default_scenario: bool = False,
) -> Response:
    """A user's recommendations as the last training computed them."""
    lanes = request.app.state.lanes
    items = await service.precomputed(lanes, schema, ids, kind="user", wire_id=user_id)
    return _json(Precomputed(items_id=items))


def _json(answer: Precomputed) -> Response:
    return Response(answer.model_dump_json(), media_type="application/json")


# --- background tasks and trained models ---------------------------------------------------


@router.post("/tasks/{task_name}/", status_code=201)
async def trigger_task(
    task_name: TaskName,
    request: Request,
    caller: BackendOrAbove,
    session: DataWriter,
    schema: WriteSchema,
) -> TaskTriggered:
    """Start a background task: every one retrains the database's models."""
    assert caller.database is not None  # WriteSchema refuses callers without one
    task_id = await service.trigger(session, task_name, schema=schema, database=caller.database.id)
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        after_commit(request, worker.wake)
    return TaskTriggered(task_id=str(task_id))


@router.get("/tasks/{task_name}/recents/")
async def list_tasks(
    task_name: TaskName,
    _: BackendOrAbove,
    session: DataReader,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    amt: Annotated[int, Query(ge=1, le=64)] = 50,
) -> TasksPage:
    """A task's recent runs, the latest first, with their status and progress."""
    rows = await service.tasks(session, task_name, page=page, amount=amt)
    tasks = [
        Task(
            task_id=str(r.task_id),
            name=r.name,
            start_time=r.start_time,
            status=r.status,
            progress=r.progress,
        )
        for r in rows[:amt]
    ]
    return TasksPage(tasks=tasks, has_next=len(rows) > amt, next_page=page + 1)


@router.get("/pretrained-ml/trained-models/")
async def list_trained_models(_: BackendOrAbove, session: DataReader) -> TrainedModels:
    """The database's trained models: one of each kind, of the last training."""
    rows = await service.trained_models(session)
    return TrainedModels(
        trained_models=[
            TrainedModel(
                id=f"{row.kind}-v{row.version}",
                trained_timestamp=row.trained_at.isoformat(),
                algorithm=row.algorithm,
            )
            for row in rows
        ]
    )


# --- interaction ratings (this server's own routes) ----------------------------------------

InteractionTypePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00]+$",
        description="An interaction type, as interactions name it.",
    ),
]


@router.get("/interaction-ratings/")
async def list_interaction_ratings(_: BackendOrAbove, session: DataReader) -> InteractionRatings:
    """The rating each interaction type implies when a model learns from interactions."""
    rows = await service.interaction_ratings(session)
    return InteractionRatings(
        interaction_types=[
            InteractionRatingRead(interaction_type=name, rating=rating, default=default)
            for name, rating, default in rows
        ],
        other_types_rating=DEFAULT_RATING,
    )


@router.put("/interaction-ratings/{interaction_type}/")
async def set_interaction_rating(
    interaction_type: InteractionTypePath,
    body: InteractionRatingWrite,
    _: RootOrManager,
    session: DataWriter,
) -> InteractionRatingRead:
    """Set the rating an interaction type implies in this database (1 to 10); the next
    training learns from it."""
    await service.set_interaction_rating(session, interaction_type, body.rating)
    return InteractionRatingRead(
        interaction_type=interaction_type, rating=body.rating, default=False
    )


@router.delete("/interaction-ratings/{interaction_type}/", status_code=204)
async def remove_interaction_rating(
    interaction_type: InteractionTypePath, _: RootOrManager, session: DataWriter
) -> Response:
    """Give an interaction type back its default rating."""
    await service.remove_interaction_rating(session, interaction_type)
    return Response(status_code=204)
