"""The models, apart from any database: training from a matrix of users by items, artefacts as
bytes, and scoring with numpy.

- **ALS** (`implicit`'s alternating least squares on implicit feedback) scores items for
  users: a user known to the model by its factors; anyone else (a new user, an anonymous
  session, a group, an item page) by factors folded in from the items given
  (`recalculate_user`, the library's own least-squares step, with its cached `YᵀY`).
- **Neighbours** (`implicit`'s item-item nearest neighbours on plain co-occurrence: how
  many users consumed both, weighted by their ratings) rank an item page: the item's
  `NEIGHBOURS` most co-consumed items first, then every other item by the ALS fold-in.
- **Popularity** (how many users rated or interacted with each item) answers when nothing
  is known of the subject, and breaks ties.

Why these (measured by `python -m bench reco`, docs/recommendations.md): on the seeded
synthetic data ALS had the best recall@10 of `implicit`'s models (BPR trailed it), and
co-occurrence neighbours the best item-to-items hit rate (ALS's fold-in, cosine, BM25 and
TF-IDF neighbours trailed it); both train 500,000 interactions in a few seconds.

Artefacts are `.npz` archives read with `allow_pickle=False`: loading one runs no code.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.nearest_neighbours import ItemItemRecommender
from threadpoolctl import threadpool_limits

Floats = npt.NDArray[np.float32]
Indices = npt.NDArray[np.intp]

FACTORS = 64
REGULARIZATION = 0.01
ALPHA = 10.0
ITERATIONS = 15
SEED = 1
TIES = 1e-4  # popularity's weight in every score: among items scored alike, the popular first
NEIGHBOURS = 64  # an item's co-consumed items kept, the best first


@dataclass(frozen=True)
class Matrix:
    """What a training reads: the users and items it names, and one value per (user, item)
    pair (a rating, or the rating its interactions imply; the largest when both)."""

    users: list[bytes]
    items: list[bytes]
    rows: npt.NDArray[np.int32]
    cols: npt.NDArray[np.int32]
    values: Floats

    def csr(self) -> sp.csr_matrix:
        shape = (len(self.users), len(self.items))
        return sp.csr_matrix((self.values, (self.rows, self.cols)), shape=shape)


@dataclass(frozen=True)
class Artefacts:
    als: bytes
    catalog: bytes
    neighbours: bytes
    details: dict[str, Any]


def train(matrix: Matrix, *, factors: int = FACTORS, threads: int = 0) -> Artefacts:
    """Fit ALS and the neighbours, count popularity. CPU-bound: run it off the event loop."""
    ratings = matrix.csr()
    model = AlternatingLeastSquares(
        factors=factors,
        regularization=REGULARIZATION,
        alpha=ALPHA,
        iterations=ITERATIONS,
        random_state=SEED,
        num_threads=threads,
    )
    with threadpool_limits(1, "blas"):  # implicit parallelises itself; BLAS threads fight it
        model.fit(ratings, show_progress=False)
    popularity = np.diff(ratings.tocsc().indptr).astype(np.float32)
    als = io.BytesIO()
    model.save(als)
    details = {"users": len(matrix.users), "items": len(matrix.items), "pairs": ratings.nnz}
    neighbours = _neighbours(ratings, threads)
    return Artefacts(als.getvalue(), _catalog(matrix, popularity), neighbours, details)


def _neighbours(ratings: sp.csr_matrix, threads: int) -> bytes:
    """Each item's `NEIGHBOURS` most co-consumed items (itself left out), as a CSR matrix."""
    model = ItemItemRecommender(K=NEIGHBOURS + 1, num_threads=threads)
    model.fit(ratings.astype(np.float64), show_progress=False)
    similarity = sp.csr_matrix(model.similarity, dtype=np.float32)
    similarity.setdiag(0)
    similarity.eliminate_zeros()
    buffer = io.BytesIO()
    np.savez(
        buffer,
        indptr=similarity.indptr.astype(np.int64),
        indices=similarity.indices.astype(np.int32),
        data=similarity.data,
    )
    return buffer.getvalue()


def _catalog(matrix: Matrix, popularity: Floats) -> bytes:
    buffer = io.BytesIO()
    items, item_ends = _packed(matrix.items)
    users, user_ends = _packed(matrix.users)
    np.savez(
        buffer,
        items=items,
        item_ends=item_ends,
        users=users,
        user_ends=user_ends,
        popularity=popularity,
    )
    return buffer.getvalue()


def _packed(ids: Sequence[bytes]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Ids of any length as one byte array and where each ends."""
    ends = np.cumsum([len(one) for one in ids], dtype=np.int64)
    return np.frombuffer(b"".join(ids), dtype=np.uint8), ends


def _unpacked(blob: npt.NDArray[np.uint8], ends: npt.NDArray[np.int64]) -> list[bytes]:
    data = blob.tobytes()
    starts = np.r_[0, ends[:-1]] if len(ends) else ends
    return [data[start:end] for start, end in zip(starts.tolist(), ends.tolist(), strict=True)]


@dataclass
class Model:
    """A trained model, loaded: what scoring needs, and the ids it knows."""

    version: int
    als: AlternatingLeastSquares
    items: list[bytes]
    users: list[bytes]
    popularity: Floats
    neighbours: sp.csr_matrix | None = None  # none in models trained before they existed
    item_index: dict[bytes, int] = field(init=False)
    user_index: dict[bytes, int] = field(init=False)
    unit_popularity: Floats = field(init=False)

    def __post_init__(self) -> None:
        self.item_index = {item: index for index, item in enumerate(self.items)}
        self.user_index = {user: index for index, user in enumerate(self.users)}
        top = float(self.popularity.max()) if len(self.popularity) else 1.0
        self.unit_popularity = self.popularity / max(top, 1.0)
        _ = self.als.YtY  # computed once here, not by the first request that folds in

    @classmethod
    def load(
        cls, version: int, als: bytes, catalog: bytes, neighbours: bytes | None = None
    ) -> "Model":
        model = AlternatingLeastSquares.load(io.BytesIO(als))
        model.num_threads = 1  # a fold-in is one small solve: starting threads costs 40 times more
        with np.load(io.BytesIO(catalog), allow_pickle=False) as arrays:
            items = _unpacked(arrays["items"], arrays["item_ends"])
            users = _unpacked(arrays["users"], arrays["user_ends"])
            popularity = arrays["popularity"].astype(np.float32)
        similarity = None
        if neighbours is not None:
            with np.load(io.BytesIO(neighbours), allow_pickle=False) as arrays:
                parts = (arrays["data"], arrays["indices"], arrays["indptr"])
                similarity = sp.csr_matrix(parts, shape=(len(items), len(items)))
        return cls(version, model, items, users, popularity, similarity)

    @property
    def nbytes(self) -> int:
        """About what it holds in memory: the factors, the popularity, the ids and their
        indexes (a dictionary entry and a bytes object cost about 100 bytes)."""
        arrays = int(self.als.item_factors.nbytes) + int(self.als.user_factors.nbytes)
        if self.neighbours is not None:
            held = self.neighbours.data, self.neighbours.indices, self.neighbours.indptr
            arrays += sum(int(one.nbytes) for one in held)
        ids = sum(len(one) for one in self.items) + sum(len(one) for one in self.users)
        return arrays + self.popularity.nbytes * 2 + ids + 200 * (len(self.items) + len(self.users))

    # --- scores: one per item, higher is better -------------------------------------------

    def for_user(self, user: int) -> Floats:
        scores: Floats = self.als.item_factors @ self.als.user_factors[user]
        return scores + TIES * self.unit_popularity

    def for_items(self, items: Sequence[int], weights: Sequence[float] | None = None) -> Floats:
        """Scores for someone known only by these items (and how much each counts)."""
        if not items:
            return self.popular()
        values = np.ones(len(items), np.float32) if weights is None else np.asarray(weights)
        row = sp.csr_matrix(
            (values.astype(np.float32), (np.zeros(len(items), np.int32), np.asarray(items))),
            shape=(1, len(self.items)),
        )
        factors = self.als.recalculate_user(0, row)
        scores: Floats = self.als.item_factors @ factors
        return scores + TIES * self.unit_popularity

    def for_item(self, item: int) -> Floats:
        """Scores for an item page: the item's neighbours first, in `neighbours_of`'s order
        (scores `leading_scores`, above 1), then every other item by the item's fold-in
        (scaled to [0, 1])."""
        scores = scaled(self.for_items([item]))
        ahead = self.neighbours_of(item)
        scores[ahead] = leading_scores(len(ahead))
        return scores

    def neighbours_of(self, item: int) -> Indices:
        """The item's neighbours, the most co-consumed first, among those alike the most
        popular first, then by index (none without the model): the head of its page, known
        without scoring every item."""
        if self.neighbours is None:
            return np.empty(0, dtype=np.intp)
        start, end = self.neighbours.indptr[item], self.neighbours.indptr[item + 1]
        found = self.neighbours.indices[start:end]
        order = np.lexsort((found, -self.popularity[found], -self.neighbours.data[start:end]))
        ordered: Indices = found[order].astype(np.intp)
        return ordered

    def popular(self) -> Floats:
        return self.unit_popularity.copy()


def leading_scores(count: int) -> Floats:
    """The scores of `count` items that lead a ranking in their order: from 2 down to just
    above 1, each apart (any other score is at most 1)."""
    return (2 - np.arange(count, dtype=np.float32) / max(count, 1)).astype(np.float32)


def scaled(scores: Floats) -> Floats:
    """Scores scaled to [0, 1] (all 0 when they are all alike)."""
    low, high = float(scores.min()), float(scores.max())
    unit: Floats = (scores - low) / (high - low) if high > low else np.zeros_like(scores)
    return unit.astype(np.float32, copy=False)


def ranked(scores: Floats, count: int, excluded: Indices | None = None) -> Indices:
    """The indices of the `count` best scores, best first, none of `excluded`; popularity
    is not consulted: ties keep index order."""
    scores = scores.astype(np.float32, copy=True)
    if excluded is not None and len(excluded):
        scores[excluded] = -np.inf
    allowed = int(np.isfinite(scores).sum())
    count = min(count, allowed)
    if count <= 0:
        return np.empty(0, dtype=np.intp)
    if count < len(scores):
        best = np.argpartition(-scores, count - 1)[:count]
    else:
        best = np.arange(len(scores))
    order: Indices = best[np.argsort(-scores[best], kind="stable")]
    return order[np.isfinite(scores[order])]
