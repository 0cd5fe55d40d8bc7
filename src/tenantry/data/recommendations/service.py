"""Recommendations of the caller's database, and its background tasks. Services never commit.

A recommendation is a ranking of every item the model knows, for a subject scored by the
model (`engine.Model`): a user it knows; anyone else by the items given (a new user's
ratings, a session's, context items, an item page); nobody, by popularity. Then, in order:
the items excluded (the query item, rated items when asked), the request's and its
scenario's filters (`filters.passing`, one statement over the best candidates, widened
fourfold until enough pass or every item was tried), the reranking rules
(`reranking.rerank`), and the page the cursor points at (`amt` items at an offset, the
cursor signed for this database and kind of recommendation).

No trained model yet: 409 `DATABASE_NOT_READY` (`ServerUnavailable`, error code 1, as the
reference names it), never an empty list.
"""

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tenantry.data.catalog.ids import IdCodecs, encoded, invalid
from tenantry.data.catalog.service import ITEMS, USERS
from tenantry.data.flexible_ids import IdCodec
from tenantry.data.pagination import Cursors, InvalidCursor
from tenantry.data.recommendations import filters, repository, reranking
from tenantry.data.recommendations.cache import ModelCache
from tenantry.data.recommendations.engine import (
    Floats,
    Indices,
    Model,
    leading_scores,
    ranked,
    scaled,
)
from tenantry.data.recommendations.scenarios import service as scenarios
from tenantry.data.recommendations.training import (
    DEFAULT_RATING,
    DEFAULT_RATINGS,
    MAX_RATING,
    TASK_NAMES,
)
from tenantry.db.engine import Lanes
from tenantry.db.sessions import TenantSession
from tenantry.errors import BadRequest, Conflict, NotFound

DEFAULT_AMOUNT = 16
MAX_AMOUNT = 64
WIDEN = 4
MATCHED_ITEMS = 1000  # items of the given properties folded in, at most


class ModelNotReady(Conflict):
    code = "DATABASE_NOT_READY"
    error_code = 1
    error_name = "ServerUnavailable"
    default_detail = (
        "No model has been trained for this database yet: ratings or interactions are "
        "needed, then POST tasks/ml_model_retrain/ (training also starts by itself once "
        "enough data has arrived)."
    )


class InteractionRatingNotFound(NotFound):
    code = "INTERACTION_RATING_NOT_FOUND"
    resource = "interaction rating"
    default_detail = "This database sets no rating for this interaction type: it has the default."


class WrongTaskName(BadRequest):
    code = "WRONG_DATA_TYPE"


class TaskAlreadyRunning(Conflict):
    status = 400
    code = "TASK_ALREADY_RUNNING"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The task {name} is duplicated: one is waiting or running already.",
            data={"type": "task", "key": name},
        )


@dataclass(frozen=True)
class Ask:
    """What a request asks for, beyond its subject."""

    amt: int | None = None
    cursor: str | None = None
    filters: Sequence[object] | None = None
    reranking: Sequence[object] | None = None
    exclude_rated_items: bool | None = None
    scenario: str | None = None
    skip_default_scenario: bool = False


@dataclass
class Subject:
    """Whom (or what) a ranking is for: every item's score (given, or scored by a function
    the first time they are read), the items known to lead the ranking in order without
    scoring the others (an item page's neighbours), what it excludes, what scenarios read."""

    _scores: Floats | Callable[[], Floats]
    excluded: list[int] = field(default_factory=list)
    rated: list[int] = field(default_factory=list)
    key: bytes | None = None  # the user's or session's stored id
    item: bytes | None = None  # the source item's
    leading: Indices | None = None  # scored `leading_scores`, ahead of every other item

    @property
    def scores(self) -> Floats:
        if callable(self._scores):
            self._scores = self._scores()
        return self._scores


@dataclass(frozen=True)
class Page:
    items_id: list[Any]
    next_cursor: str | None
    evaluated_scenarios: dict[str, Any] | None = None


async def model(session: TenantSession, cache: ModelCache, schema: str) -> Model:
    """The database's current model, from the cache or loaded once; 409 when none."""
    version = await repository.current_version(session)
    if version is None:
        raise ModelNotReady

    async def load() -> Model:
        stored = await repository.artefacts(session, version)
        if "als" not in stored or "popularity" not in stored:
            raise ModelNotReady
        parts = stored["als"], stored["popularity"], stored.get("neighbours")
        return await asyncio.to_thread(Model.load, version, *parts)

    return await cache.get(schema, version, load)


# --- subjects --------------------------------------------------------------------------------


async def of_user(
    session: TenantSession, trained: Model, ids: IdCodecs, user_id: str, context: Sequence[int]
) -> Subject:
    """A user's scores: its factors when the model knows it, else folded in from what it
    rated since; with context items, those count too. 404 for a user who does not exist."""
    key = encoded(ids.user, user_id, "user_id")
    index = trained.user_index.get(key)
    rated = [
        i
        for i in map(trained.item_index.get, await repository.rated(session, key))
        if i is not None
    ]
    if index is None and not rated and not await _exists(session, USERS.table, key):
        raise USERS.missing(ids.user.decode(key))
    if index is not None and not context:
        scores = trained.for_user(index)
    elif index is not None:
        scores = scaled(trained.for_user(index)) + scaled(trained.for_items(list(context)))
    else:
        scores = trained.for_items([*rated, *context]) if rated or context else trained.popular()
    return Subject(scores, rated=rated, key=key)


async def of_item(session: TenantSession, trained: Model, ids: IdCodecs, item_id: str) -> Subject:
    key = encoded(ids.item, item_id, "item_id")
    index = trained.item_index.get(key)
    if index is None:
        if not await _exists(session, ITEMS.table, key):
            raise ITEMS.missing(ids.item.decode(key))
        return Subject(trained.popular(), item=key)
    return Subject(
        lambda: trained.for_item(index),
        excluded=[index],
        item=key,
        leading=trained.neighbours_of(index),
    )


def of_session(
    trained: Model,
    ids: IdCodecs,
    ratings: Sequence[Any],
    interactions: Sequence[Any],
    context: Sequence[int] = (),
    implied: Mapping[str, float] = DEFAULT_RATINGS,
) -> Subject:
    """An anonymous session's scores, folded in from the ratings or interactions sent
    (items the model does not know count for nothing; an interaction counts as the rating
    `implied` gives its type)."""
    weights: dict[int, float] = {}
    for index, rating in enumerate(ratings):
        item = trained.item_index.get(encoded(ids.item, rating.item_id, f"ratings.{index}.item_id"))
        if item is not None:
            weights[item] = max(weights.get(item, 0.0), rating.rating / MAX_RATING)
    for index, interaction in enumerate(interactions):
        field_name = f"interactions.{index}.item_id"
        item = trained.item_index.get(encoded(ids.item, interaction.item_id, field_name))
        if item is not None:
            rating = implied.get(interaction.interaction_type, DEFAULT_RATING)
            weights[item] = max(weights.get(item, 0.0), rating / MAX_RATING)
    rated = list(weights)
    for item in context:
        weights[item] = max(weights.get(item, 0.0), 1.0)
    if not weights:
        return Subject(trained.popular())
    scores = trained.for_items(list(weights), [max(w, 0.05) for w in weights.values()])
    return Subject(scores, rated=rated)


async def of_users_group(
    session: TenantSession,
    trained: Model,
    ids: IdCodecs,
    users: Sequence[object],
    consensus: float,
) -> Subject:
    """A group's scores: each member's, scaled to [0, 1], averaged; `consensus_factor`
    moves the result towards the least satisfied member's (1: only that)."""
    members = []
    for index, user in enumerate(users):
        wire = ids.user.decode(encoded(ids.user, user, f"users.{index}"))
        members.append(scaled((await of_user(session, trained, ids, str(wire), ())).scores))
    stacked = np.vstack(members)
    scores = (1 - consensus) * stacked.mean(axis=0) + consensus * stacked.min(axis=0)
    return Subject(scores.astype(np.float32))


async def of_properties(
    session: TenantSession, trained: Model, properties: dict[str, Any]
) -> Subject:
    """Items like those holding any of these property values."""
    wanted: list[dict[str, Any]] = []
    for name, value in properties.items():
        for one in value if isinstance(value, list) else [value]:
            wanted.append({name: one})
            wanted.append({name: [one]})  # as a repeated property holds it
    found = await repository.with_properties(session, wanted, MATCHED_ITEMS)
    known = [i for i in map(trained.item_index.get, found) if i is not None]
    return Subject(trained.for_items(known) if known else trained.popular())


def context_items(trained: Model, ids: IdCodec, values: Sequence[object]) -> list[int]:
    found = (
        trained.item_index.get(encoded(ids, v, f"context_items.{i}")) for i, v in enumerate(values)
    )
    return [index for index in found if index is not None]


async def _exists(session: TenantSession, table: Any, key: bytes) -> bool:
    from tenantry.data.catalog import repository as catalog

    return await catalog.present(session, table, key)


# --- ranking ---------------------------------------------------------------------------------


async def recommend(
    session: TenantSession,
    trained: Model,
    cursors: Cursors,
    codec: IdCodec,
    *,
    reco_type: str,
    subject: Subject,
    ask: Ask,
) -> Page:
    """One page of `subject`'s recommendations of kind `reco_type`."""
    asked_filters = filters.parse_filters(ask.filters)
    asked_rules = reranking.parse_reranking(ask.reranking)
    resolved = await scenarios.resolve(
        session,
        reco_type,
        ask.scenario,
        ask.skip_default_scenario,
        subject.key,
        item=subject.item,
    )
    rules = scenarios.merged(
        resolved,
        filters=asked_filters,
        reranking=asked_rules,
        exclude_rated_items=ask.exclude_rated_items,
        amt=ask.amt,
    )
    amount = min(rules.amt or DEFAULT_AMOUNT, MAX_AMOUNT)
    typed = await filters.check_filters(session, rules.filters)
    scope = f"recommendation:{reco_type}"
    offset = _offset(cursors, scope, ask.cursor)
    excluded = [*subject.excluded, *(subject.rated if rules.exclude_rated_items else [])]
    wanted = offset + amount + 1
    found = None
    if subject.leading is not None and not typed:
        found = await _leading(session, trained, subject.leading, excluded, wanted)
    if found is None:
        found = await _candidates(session, trained, subject.scores, excluded, typed, wanted)
    chosen, scores = found
    ids = [trained.items[i] for i in chosen]
    if rules.reranking:
        ids = await reranking.rerank(session, rules.reranking, ids, scores, limit=wanted)
    shown = ids[offset : offset + amount]
    more = len(ids) > offset + amount
    return Page(
        items_id=[codec.decode(item) for item in shown],
        next_cursor=cursors.encode_key(scope, str(offset + amount)) if more else None,
        evaluated_scenarios=resolved.evaluated_scenarios() if resolved is not None else None,
    )


async def _candidates(
    session: TenantSession,
    trained: Model,
    scores: Floats,
    excluded: Sequence[int],
    typed: Sequence[filters.Filter],
    wanted: int,
) -> tuple[list[int], list[float]]:
    """The `wanted` best items still in `items` (the model may know items deleted since it
    was trained) that pass the filters, best first, with their scores."""
    blocked: Indices = np.asarray(sorted(set(excluded)), dtype=np.intp)
    size = wanted if not typed else max(wanted * WIDEN, 64)
    while True:
        best = ranked(scores, size, blocked).tolist()
        kept = await repository.existing(session, [trained.items[i] for i in best])
        if typed:
            kept = await filters.passing(session, typed, sorted(kept))
        chosen = [i for i in best if trained.items[i] in kept]
        if len(chosen) >= wanted or size >= len(trained.items):
            break
        size *= WIDEN
    chosen = chosen[:wanted]
    return chosen, [float(scores[i]) for i in chosen]


async def _leading(
    session: TenantSession,
    trained: Model,
    leading: Indices,
    excluded: Sequence[int],
    wanted: int,
) -> tuple[list[int], list[float]] | None:
    """What `_candidates` would choose, when the subject's leading items hold `wanted` once
    the excluded and the deleted are left out: the others are never scored. None when they
    do not hold that many."""
    blocked = set(excluded)
    ahead = [index for index in leading.tolist() if index not in blocked]
    if len(ahead) < wanted:
        return None
    kept = await repository.existing(session, [trained.items[i] for i in ahead])
    chosen = [i for i in ahead if trained.items[i] in kept][:wanted]
    if len(chosen) < wanted:
        return None
    scores = leading_scores(len(leading))
    position = {index: place for place, index in enumerate(leading.tolist())}
    return chosen, [float(scores[position[i]]) for i in chosen]


def _offset(cursors: Cursors, scope: str, cursor: str | None) -> int:
    parts = cursors.decode_key(scope, cursor, 1)
    if parts is None:
        return 0
    try:
        offset = int(parts[0])
    except ValueError as error:
        raise InvalidCursor from error
    if not 0 <= offset <= 10 * MAX_AMOUNT * MAX_AMOUNT:
        raise InvalidCursor
    return offset


async def precomputed(
    lanes: Lanes, schema: str, ids: IdCodecs, *, kind: str, wire_id: str
) -> list[Any]:
    """A precomputed recommendation, the items deleted since left out: one read on the
    driver. 404 for an unknown subject, 409 before the first training."""
    codec, missing = (ids.item, ITEMS) if kind == "item" else (ids.user, USERS)
    key = encoded(codec, wire_id, f"{kind}_id")
    version, items = await repository.precomputed(lanes, schema, kind, key)
    if version is None:
        raise ModelNotReady
    if items is None:
        if not await repository.subject_exists(lanes, schema, kind, key):
            raise missing.missing(codec.decode(key))
        items = []
    return [ids.item.decode(item) for item in items]


# --- tasks -----------------------------------------------------------------------------------


async def trigger(session: TenantSession, name: str, *, schema: str, database: str) -> uuid.UUID:
    """Queue a task (the `train` job runs it); 400 when one of its name waits or runs."""
    check_task_name(name)
    try:
        return await repository.add_task(session, name, schema, database)
    except repository.IntegrityError as error:
        raise TaskAlreadyRunning(name) from error


def check_task_name(name: str) -> None:
    """400 `WRONG_DATA_TYPE`, as the reference names it, for a name that is not a task's."""
    if name not in TASK_NAMES:
        raise WrongTaskName(
            f"Not a task: one of {', '.join(TASK_NAMES)}.",
            errors={"task_name": [f"Not a task: one of {', '.join(TASK_NAMES)}."]},
        )


async def property_values(
    session: TenantSession,
    trained: Model,
    subject: Subject,
    name: str,
    *,
    amount: int | None,
    asked_filters: Sequence[object] | None,
) -> list[Any]:
    """The values of item property `name` that the subject's best items hold, best first
    (each value scored by the sum of its items' scaled scores)."""
    if name not in await filters.declarations(session):
        raise invalid({"item_property_name": [f"No item property {name} is declared."]})
    typed = await filters.check_filters(session, filters.parse_filters(asked_filters))
    chosen, scores = await _candidates(
        session, trained, scaled(subject.scores), subject.excluded, typed, PROPERTY_ITEMS
    )
    values = await repository.property_of(session, [trained.items[i] for i in chosen], name)
    totals: dict[str, float] = {}
    seen: dict[str, Any] = {}
    for item, score in zip(chosen, scores, strict=True):
        for value in _listed(values.get(trained.items[item])):
            key = repr(value)
            totals[key] = totals.get(key, 0.0) + score
            seen.setdefault(key, value)
    best = sorted(totals, key=lambda key: -totals[key])
    return [seen[key] for key in best[: min(amount or DEFAULT_AMOUNT, MAX_AMOUNT)]]


PROPERTY_ITEMS = 200  # best items whose values are counted


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


async def tasks(session: TenantSession, name: str, *, page: int, amount: int) -> Sequence[Any]:
    """A page of a task's runs, the latest first (one more than `amount`: is there a next?)."""
    check_task_name(name)
    return await repository.tasks(session, name, (page - 1) * amount, amount + 1)


async def trained_models(session: TenantSession) -> Sequence[Any]:
    return await repository.trained(session)


# --- interaction ratings ---------------------------------------------------------------------


async def implied_ratings(session: TenantSession) -> dict[str, float]:
    """The rating each interaction type implies in this database: its own, else the
    default (`training.DEFAULT_RATINGS`; any other type, `DEFAULT_RATING`)."""
    return DEFAULT_RATINGS | await repository.interaction_ratings(session)


async def interaction_ratings(session: TenantSession) -> list[tuple[str, float, bool]]:
    """(type, rating, whether it is the default) of every type set or with a default."""
    own = await repository.interaction_ratings(session)
    implied = DEFAULT_RATINGS | own
    return [(name, implied[name], name not in own) for name in sorted(implied)]


async def set_interaction_rating(
    session: TenantSession, interaction_type: str, rating: float
) -> None:
    await repository.set_interaction_rating(session, interaction_type, rating)


async def remove_interaction_rating(session: TenantSession, interaction_type: str) -> None:
    """Back to the default; 404 when this database sets none for the type."""
    if not await repository.remove_interaction_rating(session, interaction_type):
        raise InteractionRatingNotFound
