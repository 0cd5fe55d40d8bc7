"""SQL of recommendations in the caller's schema: the current model and its artefacts,
what a user has rated, precomputed recommendations, tasks and the job that runs them."""

import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import LargeBinary, any_, delete, func, literal, or_, select, union
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import IntegrityError

from tenantry.data.catalog.repository import array
from tenantry.db.engine import Lanes
from tenantry.db.sessions import TenantSession, fetch_row
from tenantry.models.control import Job, JobKind
from tenantry.models.data import (
    Interaction,
    InteractionRating,
    Item,
    Rating,
    RecoModel,
    RecoTask,
)

WAITING = ("REQUEST_SENT", "RUNNING")


async def current_version(session: TenantSession) -> int | None:
    """The version of the trained model (one read of `reco_models`' primary key)."""
    return await session.scalar(select(RecoModel.version).where(RecoModel.kind == "als"))


async def artefacts(session: TenantSession, version: int) -> dict[str, bytes]:
    rows = await session.execute(
        select(RecoModel.kind, RecoModel.artefact).where(RecoModel.version == version)
    )
    return {kind: artefact for kind, artefact in rows}


async def trained(session: TenantSession) -> Sequence[Any]:
    statement = select(
        RecoModel.kind, RecoModel.version, RecoModel.algorithm, RecoModel.trained_at
    ).order_by(RecoModel.kind)
    return (await session.execute(statement)).all()


async def rated(session: TenantSession, user: bytes) -> list[bytes]:
    """The items a user rated or interacted with (two ranges of primary keys)."""
    statement = union(
        select(Rating.item_id).where(Rating.user_id == user),
        select(Interaction.item_id).where(Interaction.user_id == user),
    )
    return list((await session.scalars(statement)).all())


async def existing(session: TenantSession, items: Sequence[bytes]) -> set[bytes]:
    """Which of `items` are in `items` (one probe of the primary key each)."""
    if not items:
        return set()
    statement = select(Item.item_id).where(Item.item_id == any_(array(items, LargeBinary())))
    return set((await session.scalars(statement)).all())


async def with_properties(
    session: TenantSession, properties: Sequence[dict[str, Any]], limit: int
) -> list[bytes]:
    """Items holding any of these `{name: value}` properties (JSON containment)."""
    if not properties:
        return []
    matches = [Item.properties.op("@>")(literal(one, JSONB)) for one in properties]
    statement = select(Item.item_id).where(or_(*matches)).limit(limit)
    return list((await session.scalars(statement)).all())


async def property_of(
    session: TenantSession, items: Sequence[bytes], name: str
) -> dict[bytes, Any]:
    """One property's value of each of `items` that has it."""
    if not items:
        return {}
    value = Item.properties[name]
    statement = select(Item.item_id, value).where(Item.item_id.in_(items), value.isnot(None))
    return {item: found for item, found in (await session.execute(statement)).all()}


# The stored recommendations of a subject, those still in `items` only, in their order (NULL
# when none is stored, or none is left), and the trained model's version (NULL: none yet).
PRECOMPUTED = """
SELECT (SELECT version FROM {schema}.reco_models WHERE kind = 'als') AS version,
       (SELECT array_agg(t.item ORDER BY t.n)
        FROM {schema}.reco_precomputed AS p, unnest(p.items) WITH ORDINALITY AS t (item, n)
        WHERE p.subject_kind = $1 AND p.subject = $2
          AND EXISTS (SELECT 1 FROM {schema}.items AS i WHERE i.item_id = t.item)) AS items
"""
SUBJECT_EXISTS = {
    "item": "SELECT EXISTS (SELECT 1 FROM {schema}.items WHERE item_id = $1)",
    "user": "SELECT EXISTS (SELECT 1 FROM {schema}.users WHERE user_id = $1)",
}


async def precomputed(lanes: Lanes, schema: str, kind: str, subject: bytes) -> Any:
    """(version, items) of one subject's precomputed recommendations: one round trip."""
    return await fetch_row(lanes, PRECOMPUTED, schema, kind, subject)


async def subject_exists(lanes: Lanes, schema: str, kind: str, subject: bytes) -> bool:
    row = await fetch_row(lanes, SUBJECT_EXISTS[kind], schema, subject)
    return bool(row[0])


async def add_task(session: TenantSession, name: str, schema: str, database: str) -> uuid.UUID:
    """Record a waiting task and queue the job that runs it; `IntegrityError` when a task
    of this name is waiting or running already."""
    statement = (
        insert(RecoTask)
        .values(name=name, status="REQUEST_SENT", progress="queued", start_time=time.time())
        .returning(RecoTask.task_id)
    )
    async with session.begin_nested():
        task_id: uuid.UUID = (await session.execute(statement)).scalar_one()
    queued = insert(Job).values(kind=JobKind.TRAIN, database_id=database, schema_name=schema)
    await session.execute(queued)
    await session.execute(select(func.pg_notify("tenantry_jobs", "")))
    return task_id


async def tasks(session: TenantSession, name: str, offset: int, limit: int) -> Sequence[Any]:
    """A page of a task's runs, the latest first."""
    statement = (
        select(
            RecoTask.task_id, RecoTask.name, RecoTask.start_time, RecoTask.status, RecoTask.progress
        )
        .where(RecoTask.name == name)
        .order_by(RecoTask.start_time.desc(), RecoTask.task_id)
        .offset(offset)
        .limit(limit)
    )
    return (await session.execute(statement)).all()


async def interaction_ratings(session: TenantSession) -> dict[str, float]:
    """The ratings this database sets for interaction types."""
    rows = await session.execute(
        select(InteractionRating.interaction_type, InteractionRating.rating)
    )
    return {interaction_type: rating for interaction_type, rating in rows.all()}


async def set_interaction_rating(
    session: TenantSession, interaction_type: str, rating: float
) -> None:
    statement = insert(InteractionRating).values(interaction_type=interaction_type, rating=rating)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[InteractionRating.interaction_type], set_={"rating": rating}
        )
    )


async def remove_interaction_rating(session: TenantSession, interaction_type: str) -> bool:
    statement = (
        delete(InteractionRating)
        .where(InteractionRating.interaction_type == interaction_type)
        .returning(InteractionRating.interaction_type)
    )
    return (await session.execute(statement)).first() is not None


__all__ = ["WAITING", "IntegrityError"]
