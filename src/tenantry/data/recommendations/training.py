"""Training a database's models: the `train` job of the durable queue.

A job trains every model of one database, for every task waiting there (`reco_tasks`):

1. mark the waiting tasks `RUNNING` and read the data, in one short transaction: each
   (user, item) pair's rating, or the rating its interactions imply (`interaction_ratings`,
   else `DEFAULT_RATINGS`, else `DEFAULT_RATING`), the largest when there are several;
2. fit the models in a thread, holding no transaction (`engine.train`), then compute every
   item's recommendations (its neighbours, then the best of its fold-in when it has fewer
   than 64) and up to `reco_precomputed_users` users' (`implicit`'s top-k);
3. in one transaction: replace the artefacts (the next version), the precomputed rows,
   mark the tasks `COMPLETED` and end the job. Readers see the old models or the new ones,
   never a mix; each process loads the new version the next time it is asked.

A failure is retried by the worker with backoff; after its last attempt the tasks are
`FAILED` with the reason (`give_up`). Nothing to learn from (no ratings, no interactions)
fails the tasks at once, with that reason.
"""

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from implicit.cpu.topk import topk

from tenantry.data.recommendations.engine import FACTORS, Artefacts, Matrix, Model, train
from tenantry.db.sessions import in_schema

logger = logging.getLogger("tenantry.recommendations")

TASK_NAMES = (
    "ml_model_retrain",
    "item_popularity_score_recalibrate",
    "ml_new_users",
    "ml_new_items",
)
PRECOMPUTED_AMOUNT = 64  # the most a recommendation route gives at once
BATCH = 2048  # subjects precomputed at once

# Ratings are 1 to 10 in the Crossing Minds API; an interaction implies one.
DEFAULT_RATINGS = {
    "productView": 6.0,
    "view": 6.0,
    "click": 6.0,
    "like": 8.0,
    "bookmark": 8.0,
    "addToCart": 8.0,
    "add_to_cart": 8.0,
    "purchase": 10.0,
    "order": 10.0,
}
DEFAULT_RATING = 7.0  # of any other interaction type
MAX_RATING = 10.0
NEIGHBOURS_ALGORITHM = "implicit item-item co-occurrence"


START = """
UPDATE {schema}.reco_tasks SET status = 'RUNNING', progress = 'reading the data'
WHERE status IN ('REQUEST_SENT', 'RUNNING') RETURNING task_id
"""

COUNTED = """
SELECT coalesce(sum(value), 0)::bigint FROM {schema}.counters
WHERE name IN ('rating', 'interaction')
"""

# One value per (user, item): the largest of its rating and its interactions' ratings.
READ = """
WITH implied AS (
    SELECT i.user_id, i.item_id,
           coalesce(m.rating, d.rating, $3::float8) AS value
    FROM {schema}.interactions AS i
    LEFT JOIN {schema}.interaction_ratings AS m USING (interaction_type)
    LEFT JOIN unnest($1::text[], $2::float8[]) AS d (interaction_type, rating)
           ON d.interaction_type = i.interaction_type
)
SELECT user_id, item_id, max(value) AS value FROM (
    SELECT user_id, item_id, rating AS value FROM {schema}.ratings
    UNION ALL
    SELECT user_id, item_id, value FROM implied
) AS pairs
GROUP BY user_id, item_id
"""

PROGRESS = "UPDATE {schema}.reco_tasks SET progress = $1 WHERE status = 'RUNNING'"

SAVE_MODEL = """
INSERT INTO {schema}.reco_models AS m
    (kind, version, algorithm, trained_at, data_count, details, artefact)
VALUES ($1, $2, $3, now(), $4, $5::jsonb, $6)
ON CONFLICT (kind) DO UPDATE SET version = excluded.version, algorithm = excluded.algorithm,
    trained_at = excluded.trained_at, data_count = excluded.data_count,
    details = excluded.details, artefact = excluded.artefact
"""

FINISH = """
UPDATE {schema}.reco_tasks SET status = $1, progress = $2,
    end_time = extract(epoch FROM clock_timestamp())
WHERE status IN ('REQUEST_SENT', 'RUNNING')
"""


async def run(driver: asyncpg.Connection, job: Any, *, precomputed_users: int) -> None:
    """The worker's handler of `train` jobs (`tenantry.control.provisioning.worker`)."""
    schema = job.schema_name
    started = time.monotonic()
    async with driver.transaction():
        tasks = await driver.fetch(in_schema(START, schema))
        data_count = await driver.fetchval(in_schema(COUNTED, schema))
        rows = await driver.fetch(in_schema(READ, schema), *_defaults())
        version = await driver.fetchval(
            in_schema("SELECT coalesce(max(version), 0) + 1 FROM {schema}.reco_models", schema)
        )
    if not tasks and version > 1:  # nothing asked, and a model exists: nothing to do
        await _end(driver, job.id)
        return
    if not rows:
        await _finish(driver, job.id, schema, "FAILED", "No ratings or interactions to learn from.")
        return
    await _progress(driver, schema, f"training on {len(rows):,} (user, item) pairs")
    trained = await asyncio.to_thread(_train, _matrix(rows), precomputed_users)
    artefacts, precomputed = trained
    async with driver.transaction():
        await _save(driver, schema, version, data_count, artefacts)
        await _save_precomputed(driver, schema, version, precomputed)
        details = artefacts.details
        message = (
            f"trained on {details['pairs']:,} pairs of {details['users']:,} users and "
            f"{details['items']:,} items in {time.monotonic() - started:.1f} s (version {version})"
        )
        await driver.execute(in_schema(FINISH, schema), "COMPLETED", message)
        await _end(driver, job.id)
    logger.info("trained", extra={"fields": {"schema": schema, "version": version, **details}})


async def give_up(driver: asyncpg.Connection, job: Any, reason: str) -> None:
    """The job failed its last attempt: its tasks say why (in the caller's transaction)."""
    await driver.execute(in_schema(FINISH, job.schema_name), "FAILED", reason[:1000])
    await _end(driver, job.id)


def _defaults() -> tuple[list[str], list[float], float]:
    return list(DEFAULT_RATINGS), list(DEFAULT_RATINGS.values()), DEFAULT_RATING


async def _progress(driver: asyncpg.Connection, schema: str, message: str) -> None:
    await driver.execute(in_schema(PROGRESS, schema), message)


async def _finish(
    driver: asyncpg.Connection, job_id: int, schema: str, status: str, message: str
) -> None:
    async with driver.transaction():
        await driver.execute(in_schema(FINISH, schema), status, message)
        await _end(driver, job_id)


async def _end(driver: asyncpg.Connection, job_id: int) -> None:
    await driver.execute("DELETE FROM tenantry.jobs WHERE id = $1", job_id)


def _matrix(rows: Sequence[asyncpg.Record]) -> Matrix:
    users: dict[bytes, int] = {}
    items: dict[bytes, int] = {}
    user_rows = np.fromiter((users.setdefault(r[0], len(users)) for r in rows), np.int32, len(rows))
    item_cols = np.fromiter((items.setdefault(r[1], len(items)) for r in rows), np.int32, len(rows))
    values = np.fromiter((r[2] for r in rows), np.float32, len(rows))
    weights = np.clip(values / MAX_RATING, 0.05, None).astype(np.float32)
    return Matrix(list(users), list(items), user_rows, item_cols, weights)


@dataclass(frozen=True)
class Precomputed:
    items: list[tuple[bytes, list[bytes]]]
    users: list[tuple[bytes, list[bytes]]]


def _train(matrix: Matrix, precomputed_users: int) -> tuple[Artefacts, Precomputed]:
    # Few pairs learn few factors: with as many factors as a small database has users, ALS
    # memorises each user's items and scores everything else alike.
    factors = int(min(FACTORS, max(4, np.sqrt(len(matrix.values)) / 4)))
    artefacts = train(matrix, factors=factors)
    model = Model.load(0, artefacts.als, artefacts.catalog, artefacts.neighbours)
    model.als.num_threads = 0  # every core, for the batches below
    return artefacts, Precomputed(
        items=_item_neighbours(model), users=_user_items(model, matrix, precomputed_users)
    )


def _item_neighbours(model: Model) -> list[tuple[bytes, list[bytes]]]:
    """Every item's recommendations, as its page ranks them (`Model.for_item`): its
    neighbours, then, for an item with fewer, the best of its fold-in."""
    count = len(model.items)
    chosen = [model.neighbours_of(item)[:PRECOMPUTED_AMOUNT].tolist() for item in range(count)]
    short = np.asarray([i for i in range(count) if len(chosen[i]) < PRECOMPUTED_AMOUNT], np.intp)
    for start in range(0, len(short), BATCH):
        subjects = short[start : start + BATCH]
        rows = sp.csr_matrix(
            (np.ones(len(subjects), np.float32), (np.arange(len(subjects)), subjects)),
            shape=(len(subjects), count),
        )
        queries = model.als.recalculate_user(subjects, rows)
        best = _top(model, queries, 2 * PRECOMPUTED_AMOUNT + 1)
        for subject, row in zip(subjects.tolist(), best, strict=True):
            taken = set(chosen[subject]) | {subject}
            more = [i for i in row.tolist() if i >= 0 and i not in taken]
            chosen[subject] += more[: PRECOMPUTED_AMOUNT - len(chosen[subject])]
    return [
        (model.items[item], [model.items[i] for i in found]) for item, found in enumerate(chosen)
    ]


def _user_items(model: Model, matrix: Matrix, limit: int) -> list[tuple[bytes, list[bytes]]]:
    """The first `limit` users' recommendations, without the items they rated."""
    ratings = matrix.csr()
    count = min(limit, len(model.users))
    found: list[tuple[bytes, list[bytes]]] = []
    for start in range(0, count, BATCH):
        subjects = np.arange(start, min(start + BATCH, count))
        seen = ratings[subjects]
        best = _top(model, model.als.user_factors[subjects], PRECOMPUTED_AMOUNT, seen)
        for subject, row in zip(subjects.tolist(), best, strict=True):
            found.append((model.users[subject], [model.items[i] for i in row.tolist() if i >= 0]))
    return found


def _top(
    model: Model, queries: npt.NDArray[np.float32], k: int, seen: sp.csr_matrix | None = None
) -> npt.NDArray[np.int32]:
    k = min(k, len(model.items))
    ids, _ = topk(
        model.als.item_factors,
        np.ascontiguousarray(queries, dtype=np.float32),
        k,
        filter_query_items=seen,
        num_threads=0,
    )
    return np.asarray(ids)


async def _save(
    driver: asyncpg.Connection, schema: str, version: int, data_count: int, artefacts: Artefacts
) -> None:
    details = json.dumps(artefacts.details)
    statement = in_schema(SAVE_MODEL, schema)
    await driver.execute(
        statement, "als", version, "implicit ALS", data_count, details, artefacts.als
    )
    await driver.execute(
        statement, "popularity", version, "popularity", data_count, details, artefacts.catalog
    )
    await driver.execute(
        statement,
        "neighbours",
        version,
        NEIGHBOURS_ALGORITHM,
        data_count,
        details,
        artefacts.neighbours,
    )


async def _save_precomputed(
    driver: asyncpg.Connection, schema: str, version: int, precomputed: Precomputed
) -> None:
    await driver.execute(in_schema("DELETE FROM {schema}.reco_precomputed", schema))
    records = [("item", subject, version, items) for subject, items in precomputed.items]
    records += [("user", subject, version, items) for subject, items in precomputed.users]
    await driver.copy_records_to_table(
        "reco_precomputed",
        schema_name=schema,
        columns=["subject_kind", "subject", "version", "items"],
        records=records,
    )
