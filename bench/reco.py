"""Recommendation quality on a seeded synthetic dataset: `python -m bench reco`.

The generative model: `--topics` latent tastes; each item has a Dirichlet(`--item-conc`)
mix of them and a power-law popularity (rank^-`--pop-exp`), each user a Dirichlet(
`--user-conc`) mix and a log-normal number of interactions; a user picks items without
replacement, each with probability proportional to its popularity times the dot product of
the two mixes. Each user's last 20 % (by time) is held out. Scored, for 3,000 held-out
users: recall@10 and NDCG@10 (scikit-learn's `ndcg_score`) of the trained model
(`tenantry.data.recommendations.engine`)
next to popularity, random and the generating model itself (the ceiling); for
item-to-items, the hit rate@10 of pairs both held out by one user (the second among the
first's ten). The planted-group check: 3 disjoint groups, the share of users whose top 10
hold at least 8 items of their group. Figures to bench/results/reco.json.

The speed part (latencies through the API with 100,000 items and 1,000,000 ratings) is not
measured here yet.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.metrics import ndcg_score

from tenantry.data.recommendations.engine import Matrix, Model, ranked, train

RESULTS = Path(__file__).parent / "results" / "reco.json"
EVALUATED = 3000
PAIRS = 4000


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--interactions", type=int, default=500_000)
    parser.add_argument("--topics", type=int, default=100)
    parser.add_argument("--item-conc", type=float, default=0.02)
    parser.add_argument("--user-conc", type=float, default=0.03)
    parser.add_argument("--pop-exp", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

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
    model = Model.load(1, artefacts.als, artefacts.catalog)
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
    quality = {
        name: _user_quality(scorer, evaluated, seen, truth, args.items)
        for name, scorer in scorers.items()
    }
    pairs = [sorted(found)[:2] for found in truth.values() if len(found) >= 2][:PAIRS]
    item_scorers = {
        "als": lambda a: model.for_items([a]),
        "popularity": lambda a: model.popular(),
        "random": lambda a: rng.random(args.items).astype(np.float32),
    }
    hits = {name: _hit_rate(scorer, pairs) for name, scorer in item_scorers.items()}
    figures = {
        "dataset": vars(args) | {"pairs": len(users), "held_out": int(test.sum())},
        "training_s": round(training_s, 2),
        "user_to_items": quality,
        "item_to_items_hit_rate_at_10": hits,
        "ratios": {
            "recall_vs_popularity": round(
                quality["als"]["recall@10"] / quality["popularity"]["recall@10"], 2
            ),
            "ndcg_vs_popularity": round(
                quality["als"]["ndcg@10"] / quality["popularity"]["ndcg@10"], 2
            ),
            "item_hits_vs_popularity": round(hits["als"] / max(hits["popularity"], 1e-9), 2),
        },
        "planted_groups_share_with_8_of_10": _planted(),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{'model':22s} {'recall@10':>10s} {'ndcg@10':>9s} {'i2i hit@10':>11s}")
    for name, found in quality.items():
        hit = hits.get(name)
        shown = f"{hit:11.4f}" if hit is not None else f"{'':11s}"
        print(f"{name:22s} {found['recall@10']:10.4f} {found['ndcg@10']:9.4f} {shown}")
    print(f"training {training_s:.1f} s; ratios {figures['ratios']}")
    print(
        f"planted groups: {figures['planted_groups_share_with_8_of_10']:.0%} of users get ≥ 8 of 10"
    )


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


if __name__ == "__main__":
    main()
