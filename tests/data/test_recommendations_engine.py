"""The models apart from any database, and the per-process cache that holds them: an item
page ranks its neighbours first, artefacts load back to the same scores, the cache stays
within its bytes (least recently used out), swaps a new version in whole, and loads a model
once for requests that ask for it at the same time."""

import asyncio

import numpy as np
import pytest

from tenantry.data.recommendations.cache import ModelCache
from tenantry.data.recommendations.engine import Matrix, Model, leading_scores, ranked, train

GROUPS = 3
PER_GROUP = 20
USERS_PER_GROUP = 30


def planted() -> Matrix:
    """Users of a group consume 8 items of their group only."""
    rng = np.random.default_rng(1)
    rows, cols = [], []
    for user in range(GROUPS * USERS_PER_GROUP):
        group = user // USERS_PER_GROUP
        chosen = rng.choice(PER_GROUP, 8, replace=False) + group * PER_GROUP
        rows += [user] * len(chosen)
        cols += chosen.tolist()
    return Matrix(
        [u.to_bytes(4, "big") for u in range(GROUPS * USERS_PER_GROUP)],
        [i.to_bytes(4, "big") for i in range(GROUPS * PER_GROUP)],
        np.asarray(rows, np.int32),
        np.asarray(cols, np.int32),
        np.ones(len(rows), np.float32),
    )


@pytest.fixture(scope="module")
def model() -> Model:
    artefacts = train(planted(), factors=8, threads=1)
    return Model.load(1, artefacts.als, artefacts.catalog, artefacts.neighbours)


class TestItemPages:
    def test_neighbours_come_first_and_from_the_group(self, model: Model) -> None:
        for item in (0, PER_GROUP + 3, 2 * PER_GROUP + 7):
            neighbours = model.neighbours_of(item)
            assert len(neighbours) > 0
            assert item not in neighbours.tolist()
            top = ranked(model.for_item(item), 10, np.asarray([item])).tolist()
            assert top == neighbours.tolist()[:10]
            assert all(other // PER_GROUP == item // PER_GROUP for other in top)

    def test_the_head_of_a_page_needs_no_scoring(self, model: Model) -> None:
        """The scores the full ranking gives the neighbours are `leading_scores` in
        `neighbours_of`'s order, which the service answers from without scoring."""
        for item in range(0, GROUPS * PER_GROUP, 7):
            neighbours = model.neighbours_of(item)
            scores = model.for_item(item)
            np.testing.assert_array_equal(scores[neighbours], leading_scores(len(neighbours)))
            others = np.setdiff1d(np.arange(len(scores)), neighbours)
            assert scores[others].max() <= 1

    def test_neighbours_by_co_consumption_then_popularity(self, model: Model) -> None:
        assert model.neighbours is not None
        for item in range(GROUPS * PER_GROUP):
            row = model.neighbours.getrow(item).toarray()[0]
            order = model.neighbours_of(item).tolist()
            keys = [(-row[other], -model.popularity[other], other) for other in order]
            assert keys == sorted(keys)

    def test_an_item_no_one_shares_is_ranked_by_its_fold_in(self, model: Model) -> None:
        lonely = Model(
            model.version, model.als, model.items, model.users, model.popularity, neighbours=None
        )
        assert len(lonely.neighbours_of(0)) == 0
        top = ranked(lonely.for_item(0), 10, np.asarray([0])).tolist()
        assert len(top) == 10
        assert 0 not in top


class TestArtefacts:
    def test_load_back_to_the_same_scores(self, model: Model) -> None:
        artefacts = train(planted(), factors=8, threads=1)
        again = Model.load(2, artefacts.als, artefacts.catalog, artefacts.neighbours)
        assert again.items == model.items
        assert again.users == model.users
        np.testing.assert_allclose(again.for_user(3), model.for_user(3), rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(again.neighbours_of(5), model.neighbours_of(5))

    def test_models_without_neighbours_still_load(self) -> None:
        artefacts = train(planted(), factors=8, threads=1)
        old = Model.load(1, artefacts.als, artefacts.catalog)
        assert old.neighbours is None
        assert len(ranked(old.for_item(1), 5, np.asarray([1]))) == 5


def loader(model: Model, version: int, calls: list[int]):  # type: ignore[no-untyped-def]
    async def load() -> Model:
        calls.append(version)
        await asyncio.sleep(0.01)
        return Model(
            version, model.als, model.items, model.users, model.popularity, model.neighbours
        )

    return load


class TestCache:
    async def test_stays_within_its_bytes_least_recently_used_out(self, model: Model) -> None:
        cache = ModelCache(max_bytes=int(model.nbytes * 2.5))
        calls: list[int] = []
        for schema in ("a", "b"):
            await cache.get(schema, 1, loader(model, 1, calls))
        await cache.get("a", 1, loader(model, 1, calls))  # "a" used last: "b" goes first
        await cache.get("c", 1, loader(model, 1, calls))
        assert len(cache) == 2
        assert cache.used_bytes <= cache.max_bytes
        await cache.get("a", 1, loader(model, 1, calls))
        assert len(calls) == 3  # "a" was held
        await cache.get("b", 1, loader(model, 1, calls))
        assert len(calls) == 4  # "b" was not

    async def test_a_new_version_replaces_the_old_whole(self, model: Model) -> None:
        cache = ModelCache(max_bytes=10 * model.nbytes)
        calls: list[int] = []
        first = await cache.get("a", 1, loader(model, 1, calls))
        second = await cache.get("a", 2, loader(model, 2, calls))
        assert (first.version, second.version) == (1, 2)
        assert len(cache) == 1
        assert cache.used_bytes == second.nbytes
        assert (await cache.get("a", 2, loader(model, 2, calls))) is second
        assert first.version == 1  # what a request already held is left as it was

    async def test_concurrent_requests_share_one_load(self, model: Model) -> None:
        cache = ModelCache(max_bytes=10 * model.nbytes)
        calls: list[int] = []
        found = await asyncio.gather(
            *(cache.get("a", 1, loader(model, 1, calls)) for _ in range(5))
        )
        assert calls == [1]
        assert all(one is found[0] for one in found)

    async def test_a_failed_load_is_not_kept(self, model: Model) -> None:
        cache = ModelCache(max_bytes=10 * model.nbytes)

        async def failing() -> Model:
            raise OSError("unreadable")

        with pytest.raises(OSError, match="unreadable"):
            await cache.get("a", 1, failing)
        assert len(cache) == 0
        calls: list[int] = []
        assert (await cache.get("a", 1, loader(model, 1, calls))).version == 1
