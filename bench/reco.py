"""Recommendations: quality on seeded synthetic data, speed through the API.

    python -m bench reco [--quality-only | --speed-only] [--databases 1000] [--requests 1000]

**Quality.** The generative model: `--topics` latent tastes; each item has a Dirichlet(
`--item-conc`) mix of them and a power-law popularity (rank^-`--pop-exp`), each user a
Dirichlet(`--user-conc`) mix and a log-normal number of interactions; a user picks items
without replacement, each with probability proportional to its popularity times the dot
product of the two mixes. Each user's last 20 % (by time) is held out. Scored, for 3,000
held-out users: recall@10 and NDCG@10 (scikit-learn's `ndcg_score`) of the trained model
(`tenantry.data.recommendations.engine`) next to popularity, random and the generating
model itself (the ceiling); for item-to-items, the hit rate@10 of 20,000 pairs of items
one user consumed one after the other in the held-out data (the second among the first's
ten), for what an item page serves (`Model.for_item`) next to ALS's fold-in alone,
`implicit`'s neighbour models, popularity, random and the generating model (the chance
that a user of the first item consumes each other one: the ceiling). The planted-group
check: 3 disjoint groups, the share of users whose top 10 hold at least 8 items of their
group.

**Speed.** `tenantry serve` (one process, its worker on) on the benchmark's own PostgreSQL:
one database of `--items` items (an integer property `category`, 10 values), `--users`
users and `--ratings` ratings (power-law popularity, two tastes per user), filled by `COPY`;
training by `POST tasks/ml_model_retrain/`, timed until the task is `COMPLETED`; then, one
request at a time with the database's API key, `--requests` of each route (after a
warm-up): item to items, user to items, user to items with one filter (`category:eq:<c>`,
a tenth of the items), the precomputed item and user routes. Then `--databases` small
databases (`SMALL_ITEMS` items, `SMALL_RATINGS` ratings each) trained by the worker, and
item and user to items over all of them at random: the first request of each (its model
loaded) and the rest, with the server's resident memory and the models' bytes
(`Model.nbytes`, the cache's own measure) beside `TENANTRY_RECO_CACHE_MB`.

Figures to bench/results/reco.json.
"""

import argparse
import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from implicit.nearest_neighbours import (
    BM25Recommender,
    CosineRecommender,
    ItemItemRecommender,
    TFIDFRecommender,
)
from sklearn.metrics import ndcg_score

from bench._harness import (
    RESULTS,
    TenantryServer,
    create_database,
    drop_database,
    postgres_server,
    print_table,
    summary_ms,
    write_results,
)
from tenantry.auth import api_keys
from tenantry.data.recommendations.engine import NEIGHBOURS, Matrix, Model, ranked, train
from tenantry.db.migrate import schema_upgrade_sql
from tenantry.ids import new_id

EVALUATED = 3000
PAIRS = 20_000


def generate(args: argparse.Namespace) -> tuple[npt.NDArray[np.int64], ...]:
    rng = np.random.default_rng(args.seed)
    item_mix = rng.dirichlet(np.full(args.topics, args.item_conc), args.items)
    user_mix = rng.dirichlet(np.full(args.topics, args.user_conc), args.users)
    popularity = 1.0 / np.arange(1, args.items + 1) ** args.pop_exp
    popularity = popularity[rng.permutation(args.items)]
    counts = rng.lognormal(0.0, 0.8, args.users)
    counts = (counts / counts.sum() * args.interactions).astype(int).clip(5, 300)
    users, items = [], []
    for user in range(args.users):
        weights = (item_mix @ user_mix[user]) * popularity
        chosen = rng.choice(args.items, size=counts[user], replace=False, p=weights / weights.sum())
        users.append(np.full(len(chosen), user))
        items.append(chosen)
    return np.concatenate(users), np.concatenate(items), item_mix, user_mix, popularity


def held_out(users: npt.NDArray[np.int64], items: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Each user's last 20 %: rows are in time order within a user."""
    starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
    counts = np.diff(np.r_[starts, len(users)])
    rank = np.arange(len(users)) - np.repeat(starts, counts)
    return rank >= np.repeat(np.ceil(counts * 0.8).astype(int), counts)


def co_consumed(
    users: npt.NDArray[np.int64], items: npt.NDArray[np.int64], test: npt.NDArray[np.bool_]
) -> list[tuple[int, int]]:
    """Pairs of items one user consumed one after the other in the held-out data (rows are
    in time order within a user): `PAIRS` of them, drawn with a fixed seed."""
    held_users, held_items = users[test], items[test]
    same = held_users[1:] == held_users[:-1]
    pairs = list(zip(held_items[:-1][same].tolist(), held_items[1:][same].tolist(), strict=True))
    order = np.random.default_rng(1).permutation(len(pairs))[:PAIRS]
    return [pairs[i] for i in order.tolist()]


def neighbour_scorers(seen: sp.csr_matrix, n_items: int) -> dict[str, Callable[[int], Any]]:
    """`implicit`'s item-item models, fitted on the held-in data, as item page scorers."""
    popularity = np.diff(seen.tocsc().indptr).astype(np.float32)
    ties = 1e-6 * popularity / max(float(popularity.max()), 1.0)
    models = {
        "co-occurrence neighbours alone": ItemItemRecommender(K=NEIGHBOURS + 1),
        "cosine neighbours": CosineRecommender(K=NEIGHBOURS + 1),
        "BM25 neighbours": BM25Recommender(K=NEIGHBOURS + 1),
        "TF-IDF neighbours": TFIDFRecommender(K=NEIGHBOURS + 1),
    }
    scorers = {}
    for name, model in models.items():
        model.fit(seen.astype(np.float64), show_progress=False)
        similarity = model.similarity.tocsr()

        def score(item: int, similarity: sp.csr_matrix = similarity) -> Any:
            row = np.zeros(n_items, np.float32)
            found = similarity[item]
            row[found.indices] = found.data
            return row + ties

        scorers[name] = score
    return scorers


def generator_item_scores(
    item: int,
    item_mix: npt.NDArray[np.float64],
    user_mix: npt.NDArray[np.float64],
    popularity: npt.NDArray[np.float64],
    counts: npt.NDArray[np.float64],
) -> Any:
    """For each item, the generating model's expected co-consumption with `item`: over the
    users, how likely each picked `item` times how likely it picks the other."""
    normaliser = user_mix @ (item_mix.T @ popularity)
    picked = counts * (user_mix @ item_mix[item]) * popularity[item] / normaliser
    return ((item_mix @ (user_mix.T @ (picked * counts / normaliser))) * popularity).astype(
        np.float32
    )


def quality(args: argparse.Namespace) -> dict[str, Any]:
    users, items, item_mix, user_mix, popularity = generate(args)
    test = held_out(users, items)
    matrix = Matrix(
        [u.to_bytes(4, "big") for u in range(args.users)],
        [i.to_bytes(4, "big") for i in range(args.items)],
        users[~test].astype(np.int32),
        items[~test].astype(np.int32),
        np.ones(int((~test).sum()), np.float32),
    )
    started = time.perf_counter()
    artefacts = train(matrix)
    training_s = time.perf_counter() - started
    model = Model.load(1, artefacts.als, artefacts.catalog, artefacts.neighbours)
    seen = matrix.csr()
    truth: dict[int, set[int]] = {}
    for user, item in zip(users[test].tolist(), items[test].tolist(), strict=True):
        truth.setdefault(user, set()).add(item)
    rng = np.random.default_rng(1)
    evaluated = rng.choice(sorted(truth), min(EVALUATED, len(truth)), replace=False)
    scorers = {
        "als": lambda u: model.for_user(u),
        "popularity": lambda u: model.popular(),
        "random": lambda u: rng.random(args.items).astype(np.float32),
        "generator (ceiling)": lambda u: ((item_mix @ user_mix[u]) * popularity).astype(np.float32),
    }
    user_quality = {
        name: _user_quality(scorer, evaluated, seen, truth, args.items)
        for name, scorer in scorers.items()
    }
    pairs = co_consumed(users, items, test)
    counts = np.bincount(users, minlength=args.users).astype(np.float64)
    item_scorers = {
        "served: neighbours, then ALS": lambda a: model.for_item(a),
        "ALS fold-in alone": lambda a: model.for_items([a]),
        **neighbour_scorers(seen, args.items),
        "popularity": lambda a: model.popular(),
        "random": lambda a: rng.random(args.items).astype(np.float32),
        "generator (ceiling)": lambda a: generator_item_scores(
            a, item_mix, user_mix, popularity, counts
        ),
    }
    hits = {name: _hit_rate(scorer, pairs) for name, scorer in item_scorers.items()}
    served, popular = hits["served: neighbours, then ALS"], max(hits["popularity"], 1e-9)
    return {
        "dataset": vars(args) | {"pairs": len(users), "held_out": int(test.sum())},
        "training_s": round(training_s, 2),
        "user_to_items": user_quality,
        "item_to_items_pairs": len(pairs),
        "item_to_items_hit_rate_at_10": hits,
        "ratios": {
            "recall_vs_popularity": round(
                user_quality["als"]["recall@10"] / user_quality["popularity"]["recall@10"], 2
            ),
            "ndcg_vs_popularity": round(
                user_quality["als"]["ndcg@10"] / user_quality["popularity"]["ndcg@10"], 2
            ),
            "item_hits_vs_popularity": round(served / popular, 2),
            "item_hits_ceiling_vs_popularity": round(hits["generator (ceiling)"] / popular, 2),
            "item_hits_vs_ceiling": round(served / max(hits["generator (ceiling)"], 1e-9), 2),
        },
        "planted_groups_share_with_8_of_10": _planted(),
    }


def print_quality(figures: dict[str, Any]) -> None:
    rows = [
        (name, found["recall@10"], found["ndcg@10"])
        for name, found in figures["user_to_items"].items()
    ]
    print_table("user to items (held out by time)", ("model", "recall@10", "ndcg@10"), rows)
    hits = figures["item_to_items_hit_rate_at_10"].items()
    print_table(
        f"item to items ({figures['item_to_items_pairs']:,} held-out co-consumed pairs)",
        ("model", "hit@10"),
        [(name, hit) for name, hit in hits],
    )
    print(f"training {figures['training_s']:.1f} s; ratios {figures['ratios']}")
    share = figures["planted_groups_share_with_8_of_10"]
    print(f"planted groups: {share:.0%} of users get ≥ 8 of 10 from their group")


def _user_quality(scorer, evaluated, seen, truth, n_items) -> dict[str, float]:  # type: ignore[no-untyped-def]
    recalls, relevance, scores = [], [], []
    for user in evaluated.tolist():
        rated = seen.indices[seen.indptr[user] : seen.indptr[user + 1]]
        score = scorer(user).astype(np.float64)
        top = ranked(score.astype(np.float32), 10, rated)
        wanted = truth[user]
        recalls.append(sum(i in wanted for i in top.tolist()) / min(10, len(wanted)))
        relevant = np.zeros(n_items)
        relevant[list(wanted)] = 1
        score[rated] = score.min() - 1
        relevance.append(relevant)
        scores.append(score)
    ndcg = float(ndcg_score(np.vstack(relevance), np.vstack(scores), k=10))
    return {"recall@10": round(float(np.mean(recalls)), 4), "ndcg@10": round(ndcg, 4)}


def _hit_rate(scorer, pairs) -> float:  # type: ignore[no-untyped-def]
    hits = 0
    for first, second in pairs:
        top = ranked(scorer(first), 10, np.asarray([first]))
        hits += second in top.tolist()
    return round(hits / max(len(pairs), 1), 4)


def _planted(groups: int = 3, per_group: int = 100, users_per_group: int = 200) -> float:
    rng = np.random.default_rng(3)
    rows, cols = [], []
    for user in range(groups * users_per_group):
        group = user // users_per_group
        chosen = rng.choice(per_group, 15, replace=False) + group * per_group
        rows += [user] * len(chosen)
        cols += chosen.tolist()
    matrix = Matrix(
        [u.to_bytes(4, "big") for u in range(groups * users_per_group)],
        [i.to_bytes(4, "big") for i in range(groups * per_group)],
        np.asarray(rows, np.int32),
        np.asarray(cols, np.int32),
        np.ones(len(rows), np.float32),
    )
    model = Model.load(1, *_artefacts(matrix))
    seen = matrix.csr()
    good = 0
    for user in range(groups * users_per_group):
        top = ranked(
            model.for_user(user), 10, seen.indices[seen.indptr[user] : seen.indptr[user + 1]]
        )
        good += int((top // per_group == user // users_per_group).sum() >= 8)
    return good / (groups * users_per_group)


def _artefacts(matrix: Matrix) -> tuple[bytes, bytes]:
    artefacts = train(matrix, factors=16)
    return artefacts.als, artefacts.catalog


# --- speed, through the API ------------------------------------------------------------------

CATEGORIES = 10
SMALL_ITEMS = 200
SMALL_USERS = 100
SMALL_RATINGS = 2_000
SCHEMAS_PER_TRANSACTION = 20  # each new schema takes ~20 locks; stay under the lock table
FILL_CONNECTIONS = 2
WARMUP = 50
TARGETS_MS = {
    "item_to_items": 5.0,
    "user_to_items": 10.0,
    "user_to_items_filtered": 15.0,
    "precomputed_item_to_items": 3.0,
    "precomputed_user_to_items": 3.0,
}
TARGET_TRAINING_S = 60.0
TARGET_MODEL_MB = 500


def item_key(item: int) -> bytes:
    """A uint32 id as Tenantry stores it (`tenantry.data.flexible_ids`)."""
    return item.to_bytes(8, "big")


def speed_data(
    seed: int, n_users: int, n_items: int, n_ratings: int, topics: int = 50
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(user, item) pairs, distinct: each item has a taste and a power-law popularity; each
    rating is one of its user's two tastes' items, drawn by popularity."""
    rng = np.random.default_rng(seed)
    taste = rng.integers(topics, size=n_items)
    popularity = (1.0 / np.arange(1, n_items + 1) ** 0.8)[rng.permutation(n_items)]
    order = np.argsort(taste, kind="stable")
    bounds = np.searchsorted(taste[order], np.arange(topics + 1))
    cumulative = np.cumsum(popularity[order])
    draws = int(n_ratings * 1.3)
    users = rng.integers(n_users, size=draws)
    tastes = rng.integers(topics, size=(n_users, 2))[users, rng.integers(2, size=draws)]
    low = np.where(bounds[tastes] > 0, cumulative[bounds[tastes] - 1], 0.0)
    high = cumulative[bounds[tastes + 1] - 1]
    picked = np.searchsorted(cumulative, low + rng.random(draws) * (high - low))
    items = order[np.minimum(picked, n_items - 1)]
    pairs = rng.permutation(np.unique(users * n_items + items))[:n_ratings]
    return pairs // n_items, pairs % n_items


DATABASES_SQL = (
    "INSERT INTO tenantry.databases (id, org_id, name, description, schema_name, status, "
    "item_id_type, user_id_type, session_id_type, core_config, metadata) "
    "SELECT id, $1, schema, '', schema, 'pending', 'uint32', 'uint32', 'uint32', '{}', '{}' "
    "FROM unnest($2::text[], $3::text[]) AS t(id, schema)"
)
KEYS_SQL = (
    "INSERT INTO tenantry.api_keys (id, org_id, database_id, account_id, name, role, prefix, "
    "secret_hash) SELECT id, $1, database_id, NULL, 'reco', 'backend', prefix, secret_hash "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) "
    "AS t(id, database_id, prefix, secret_hash)"
)


class Filled:
    """A database the benchmark made: its schema, API key, and what it holds."""

    def __init__(self, schema: str, items: int, users: int) -> None:
        self.schema = schema
        self.database_id = new_id()
        self.key = api_keys.generate()
        self.items = items
        self.users = users
        self.rated: list[int] = []  # items with ratings: those the models know


async def make_databases(url: str, org_id: str, databases: list[Filled]) -> None:
    """The schemas at the tenant head, `pending` (no trigger queues a training while they
    are filled), each with a backend API key."""
    batches = [
        databases[start : start + SCHEMAS_PER_TRANSACTION]
        for start in range(0, len(databases), SCHEMAS_PER_TRANSACTION)
    ]
    queue = asyncio.Queue[list[Filled]]()
    for batch in batches:
        queue.put_nowait(batch)

    async def work() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("SET synchronous_commit TO off")  # a scratch database
            while not queue.empty():
                batch = queue.get_nowait()
                script = "".join(
                    schema_upgrade_sql(one.schema, None, kind="database", create=True)
                    for one in batch
                )
                async with connection.transaction():
                    await connection.execute(script)
                    await connection.execute(
                        DATABASES_SQL,
                        org_id,
                        [one.database_id for one in batch],
                        [one.schema for one in batch],
                    )
                    await connection.execute(
                        KEYS_SQL,
                        org_id,
                        [new_id() for _ in batch],
                        [one.database_id for one in batch],
                        [one.key.prefix for one in batch],
                        [one.key.secret_hash for one in batch],
                    )
        finally:
            await connection.close()

    await asyncio.gather(*(work() for _ in range(FILL_CONNECTIONS)))


async def fill_data(
    connection: asyncpg.Connection,
    one: Filled,
    users: npt.NDArray[np.int64],
    items: npt.NDArray[np.int64],
) -> None:
    """Items (with a `category`), users and ratings by COPY, then the database ready."""
    one.rated = np.unique(items).tolist()
    categories = np.arange(one.items) % CATEGORIES
    await connection.execute(
        f'INSERT INTO "{one.schema}".item_properties (property_name, value_type, repeated) '  # noqa: S608
        "VALUES ('category', 'int32', false)"
    )
    await connection.copy_records_to_table(
        "items",
        schema_name=one.schema,
        columns=["item_id", "properties"],
        records=[(item_key(i), f'{{"category": {c}}}') for i, c in enumerate(categories.tolist())],
    )
    await connection.copy_records_to_table(
        "users",
        schema_name=one.schema,
        columns=["user_id"],
        records=[(item_key(u),) for u in range(one.users)],
    )
    ratings = np.random.default_rng(len(users)).integers(1, 11, size=len(users))
    await connection.copy_records_to_table(
        "ratings",
        schema_name=one.schema,
        columns=["user_id", "item_id", "rating", "timestamp"],
        records=[
            (item_key(u), item_key(i), float(r), 1.7e9 + n)
            for n, (u, i, r) in enumerate(
                zip(users.tolist(), items.tolist(), ratings.tolist(), strict=True)
            )
        ],
    )
    await connection.execute(
        "UPDATE tenantry.databases SET status = 'ready' WHERE id = $1", one.database_id
    )


async def fill_all(url: str, big: Filled, ratings: int, small: list[Filled]) -> dict[str, float]:
    org_id = new_id()
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO tenantry.organizations (id, name) VALUES ($1, 'reco')", org_id
        )
        began = time.perf_counter()
        await make_databases(url, org_id, [big, *small])
        made = time.perf_counter() - began
        users, items = speed_data(1, big.users, big.items, ratings)
        async with connection.transaction():
            await fill_data(connection, big, users, items)
        filled = time.perf_counter() - began - made
        for one in small:
            users, items = speed_data(2, one.users, one.items, SMALL_RATINGS, topics=5)
            async with connection.transaction():
                await fill_data(connection, one, users, items)
        for table in ("items", "users", "ratings"):  # the big one's: the small ones' are tiny
            await connection.execute(f'ANALYZE "{big.schema}".{table}')
        await connection.execute("ANALYZE tenantry.databases, tenantry.api_keys")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    return {
        "schemas_s": round(made, 1),
        "big_database_s": round(filled, 1),
        "small_databases_s": round(time.perf_counter() - began - made - filled, 1),
    }


def train_one(client: httpx.Client, key: str) -> float:
    """POST tasks/ml_model_retrain/, then the seconds until its run is COMPLETED."""
    headers = {"X-API-Key": key}
    began = time.perf_counter()
    client.post("/v1/tasks/ml_model_retrain/", headers=headers).raise_for_status()
    while True:
        time.sleep(0.1)
        runs = client.get("/v1/tasks/ml_model_retrain/recents/", headers=headers).json()
        status = runs["tasks"][0]["status"]
        if status == "COMPLETED":
            return time.perf_counter() - began
        if status == "FAILED":
            raise RuntimeError(f"training failed: {runs['tasks'][0]['progress']}")


async def wait_for_trainings(url: str) -> None:
    """Until no training job is left (an hour at most)."""
    connection = await asyncpg.connect(url)
    query = "SELECT count(*) FROM tenantry.jobs WHERE kind = 'train'"
    try:
        for _ in range(7200):
            if not await connection.fetchval(query):
                return
            await asyncio.sleep(0.5)
        raise RuntimeError("the small databases' trainings did not end in an hour")
    finally:
        await connection.close()


def timed(client: httpx.Client, requests: list[tuple[str, str]]) -> list[float]:
    """Each (key, path) sent in turn; the seconds each took. Any answer but 200 stops."""
    seconds = []
    for key, path in requests:
        began = time.perf_counter()
        answer = client.get(path, headers={"X-API-Key": key})
        seconds.append(time.perf_counter() - began)
        if answer.status_code != 200 or not answer.json()["items_id"]:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
    return seconds


def big_requests(big: Filled, count: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    key = big.key.key
    items = rng.choice(big.rated, size=count).tolist()
    users = rng.integers(big.users, size=count).tolist()
    return {
        "item_to_items": [(key, f"/v1/recommendation/items/{i}/items/?amt=10") for i in items],
        "user_to_items": [(key, f"/v1/recommendation/users/{u}/items/?amt=10") for u in users],
        "user_to_items_filtered": [
            (key, f"/v1/recommendation/users/{u}/items/?amt=10&filters=category:eq:{u % 10}")
            for u in users
        ],
        "precomputed_item_to_items": [
            (key, f"/v1/recommendation/precomputed/items/{i}/items/") for i in items
        ],
        "precomputed_user_to_items": [
            (key, f"/v1/recommendation/precomputed/users/{u}/items/") for u in users
        ],
    }


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time a process has used (`/proc/<pid>/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(client: httpx.Client, pid: int, requests: list[tuple[str, str]]) -> dict[str, Any]:
    """Latencies, and the server's CPU time per request (what the machine's other load does
    not change much)."""
    timed(client, requests[:WARMUP])
    began = cpu_seconds(pid)
    figures = summary_ms(timed(client, requests))
    figures["server_cpu_ms"] = round((cpu_seconds(pid) - began) * 1000 / len(requests), 2)
    return figures


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def speed(args: argparse.Namespace) -> dict[str, Any]:
    big = Filled("reco_big", args.speed_items, args.speed_users)
    small = [Filled(f"reco_{n:05d}", SMALL_ITEMS, SMALL_USERS) for n in range(args.databases)]
    figures: dict[str, Any] = {
        "dataset": {
            "items": args.speed_items,
            "users": args.speed_users,
            "ratings": args.ratings,
            "small_databases": args.databases,
            "small_items": SMALL_ITEMS,
            "small_ratings": SMALL_RATINGS,
            "requests_per_route": args.requests,
        }
    }
    with postgres_server("bench-reco") as (server, _):
        url = asyncio.run(create_database(server, "bench_reco"))
        log = RESULTS / "reco-server.log"
        env = {
            "TENANTRY_WORKERS": "1",
            "TENANTRY_RATE_LIMIT": "none",
            "TENANTRY_RECO_CACHE_MB": str(TARGET_MODEL_MB),
        }
        tenantry = TenantryServer(url, log, env)
        try:
            figures["fill_s"] = asyncio.run(fill_all(url, big, args.ratings, small))
            print(f"filled: {figures['fill_s']}")
            with httpx.Client(base_url=tenantry.url, timeout=600) as client:
                figures["training_s"] = round(train_one(client, big.key.key), 1)
                print(f"trained {args.ratings:,} ratings in {figures['training_s']} s")
                latencies = {}
                pid = tenantry.process.pid
                for name, requests in big_requests(big, args.requests, 3).items():
                    latencies[name] = measured(client, pid, requests)
                figures["one_database"] = latencies
                figures["one_database_rss_mb"] = resident_mb(tenantry.process.pid)
                figures["small"] = small_databases(client, pid, url, small, args.requests)
                figures["small"]["rss_mb"] = resident_mb(tenantry.process.pid)
        finally:
            tenantry.stop()
            asyncio.run(drop_database(server, url))
    return figures


def small_databases(
    client: httpx.Client, pid: int, url: str, small: list[Filled], count: int
) -> dict[str, Any]:
    """Every small database trained by the worker, then item and user to items over them."""
    began = time.perf_counter()
    for one in small:
        headers = {"X-API-Key": one.key.key}
        client.post("/v1/tasks/ml_model_retrain/", headers=headers).raise_for_status()
    asyncio.run(wait_for_trainings(url))
    trained = time.perf_counter() - began
    rng = np.random.default_rng(5)
    first = [
        (one.key.key, f"/v1/recommendation/items/{rng.choice(one.rated)}/items/?amt=10")
        for one in small
    ]
    first_seconds = timed(client, first)  # each database's model loaded
    picks = [small[i] for i in rng.integers(len(small), size=count).tolist()]
    items = [
        (one.key.key, f"/v1/recommendation/items/{rng.choice(one.rated)}/items/?amt=10")
        for one in picks
    ]
    users = [
        (one.key.key, f"/v1/recommendation/users/{rng.integers(SMALL_USERS)}/items/?amt=10")
        for one in picks
    ]
    return {
        "training_all_s": round(trained, 1),
        "first_request_each": summary_ms(first_seconds),
        "item_to_items": measured(client, pid, items),
        "user_to_items": measured(client, pid, users),
        "models_mb": round(asyncio.run(models_bytes(url, small)) / 2**20, 1),
    }


async def models_bytes(url: str, small: list[Filled]) -> int:
    """The bytes the small databases' models take in a process's cache (`Model.nbytes`)."""
    connection = await asyncpg.connect(url)
    try:
        total = 0
        for one in small:
            rows = await connection.fetch(
                f'SELECT kind, version, artefact FROM "{one.schema}".reco_models'  # noqa: S608
            )
            stored = {row["kind"]: row["artefact"] for row in rows}
            model = Model.load(
                rows[0]["version"], stored["als"], stored["popularity"], stored.get("neighbours")
            )
            total += model.nbytes
        return total
    finally:
        await connection.close()


def print_speed(figures: dict[str, Any]) -> None:
    rows: list[tuple[object, ...]] = [
        ("training 1 database", f"{figures['training_s']} s", f"≤ {TARGET_TRAINING_S:.0f} s")
    ]
    for name, found in figures["one_database"].items():
        shown = f"{found['p50_ms']} ms (p99 {found['p99_ms']}, CPU {found['server_cpu_ms']})"
        rows.append((name, shown, f"≤ {TARGETS_MS[name]} ms"))
    small = figures["small"]
    count = figures["dataset"]["small_databases"]
    rows += [
        (f"{count} small: training all", f"{small['training_all_s']} s", ""),
        (f"{count} small: first request each", f"{small['first_request_each']['p50_ms']} ms", ""),
        (f"{count} small: item_to_items", f"{small['item_to_items']['p50_ms']} ms", "≤ 5.0 ms"),
        (f"{count} small: user_to_items", f"{small['user_to_items']['p50_ms']} ms", "≤ 10.0 ms"),
        (f"{count} small: models", f"{small['models_mb']} MB", f"≤ {TARGET_MODEL_MB} MB"),
        ("server RSS (all loaded)", f"{small['rss_mb']} MB", ""),
    ]
    print_table(
        "speed through the API (p50, one request at a time)", ("what", "measured", "target"), rows
    )


def kept_figures() -> dict[str, Any]:
    path = RESULTS / "reco.json"
    if not path.exists():
        return {}
    previous = json.loads(path.read_text())
    return {part: previous[part] for part in ("quality", "speed") if part in previous}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--interactions", type=int, default=500_000)
    parser.add_argument("--topics", type=int, default=100)
    parser.add_argument("--item-conc", type=float, default=0.02)
    parser.add_argument("--user-conc", type=float, default=0.03)
    parser.add_argument("--pop-exp", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed-items", type=int, default=100_000)
    parser.add_argument("--speed-users", type=int, default=50_000)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--databases", type=int, default=1_000, help="small databases")
    parser.add_argument("--requests", type=int, default=1_000, help="per route")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--quality-only", action="store_true")
    only.add_argument("--speed-only", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    if not args.speed_only:
        load = {"load_average_at_start": os.getloadavg()}
        figures["quality"] = quality(args) | load | {"load_average_at_end": os.getloadavg()}
        print_quality(figures["quality"])
    if not args.quality_only:
        load = {"load_average_at_start": os.getloadavg()}
        figures["speed"] = speed(args) | load | {"load_average_at_end": os.getloadavg()}
        print_speed(figures["speed"])
    path = write_results("reco", kept_figures() | figures)  # a part not run keeps its last
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
