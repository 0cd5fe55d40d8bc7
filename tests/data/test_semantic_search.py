"""Semantic and hybrid search: documents embedded when written, ranked by cosine distance
with the packaged model, the cutoff score, the pool that sorts, pages and facets, hybrid's
reciprocal-rank fusion and its edge cases, and the documented 501 on a server without
pgvector."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.data.search.service import fused
from tests.utils.factories import add_document, ready_org
from tests.utils.problems import assert_problem

SEARCH = "/v20241104/search"
TOPICS = [
    {
        "id": "cat",
        "title": "Caring for your cat",
        "content": "Feeding and grooming a house cat.",
        "tenant_id": "t1",
        "metadata": {"shelf": "pets", "pages": 120},
    },
    {
        "id": "tax",
        "title": "Filing quarterly taxes",
        "content": "A guide to small business tax returns and accounting.",
        "tenant_id": "t1",
        "metadata": {"shelf": "money", "pages": 300},
    },
    {
        "id": "alps",
        "title": "Hiking in the Alps",
        "content": "Mountain trails, huts and weather for walkers.",
        "tenant_id": "t2",
        "metadata": {"shelf": "travel", "pages": 80},
    },
]


@pytest.fixture(scope="session")
async def pgvector(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        found = await connection.execute(
            text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
        )
        return found.first() is not None


@pytest.fixture
def semantic(pgvector: bool) -> None:
    if not pgvector:
        pytest.skip("this PostgreSQL has no pgvector: TestWithoutPgvector holds its error")


@pytest.fixture
async def library(client: httpx.AsyncClient) -> dict[str, str]:
    _, key = await ready_org(client)
    for topic in TOPICS:
        await add_document(client, key, **topic)
    return key


async def search(client: httpx.AsyncClient, key: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("ai_search_cutoff_score", 0)
    response = await client.post(SEARCH, headers=key, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def ids(result: dict[str, Any]) -> list[str]:
    return [hit["id"] for hit in result["data"]]


@pytest.mark.usefixtures("semantic")
class TestSemantic:
    async def test_ranks_by_meaning_without_a_shared_word(
        self, client: httpx.AsyncClient, library: dict[str, str]
    ) -> None:
        result = await search(client, library, query="kitten", search_type="ai_semantic")
        assert ids(result)[0] == "cat"
        assert result["search_type"] == "ai_semantic"
        scores = [hit["score"] for hit in result["data"]]
        assert scores == sorted(scores, reverse=True)
        assert all(-100 <= score <= 100 for score in scores)
        lexical = await search(client, library, query="kitten", search_type="lexical")
        assert lexical["data"] == []

    async def test_the_cutoff_leaves_out_weaker_matches(
        self, client: httpx.AsyncClient, library: dict[str, str]
    ) -> None:
        everything = await search(client, library, query="kitten", search_type="ai_semantic")
        cut = await search(
            client, library, query="kitten", search_type="ai_semantic", ai_search_cutoff_score=30
        )
        assert ids(cut) == ["cat"]
        assert ids(everything)[:2] == ["cat", "tax"]
        assert all(hit["score"] > 30 for hit in cut["data"])
        assert all(hit["score"] > 0 for hit in everything["data"])

    async def test_updates_and_deletes_count_at_once(
        self, client: httpx.AsyncClient, library: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v20241104/documents/tax",
            headers=library,
            json={"title": "Adopting a kitten", "content": "Litter, toys and vets."},
        )
        assert response.status_code == 200, response.text
        result = await search(client, library, query="kitten", search_type="ai_semantic")
        assert ids(result)[:2] in (["tax", "cat"], ["cat", "tax"])
        await client.delete("/v20241104/documents/cat", headers=library)
        result = await search(client, library, query="kitten", search_type="ai_semantic")
        assert ids(result)[0] == "tax"
        assert "cat" not in ids(result)

    async def test_tenant_ids_and_databases_bound_the_pool(
        self, client: httpx.AsyncClient, library: dict[str, str]
    ) -> None:
        body = {"query": "mountain walk", "search_type": "ai_semantic"}
        assert ids(await search(client, library, **body))[0] == "alps"
        assert "alps" not in ids(await search(client, library, **body, tenant_id=["t1"]))
        _, other = await ready_org(client)
        await add_document(client, other, id="own", title="Kittens at play")
        assert ids(await search(client, other, query="kitten", search_type="ai_semantic")) == [
            "own"
        ]

    async def test_sort_pages_and_facets_read_the_pool(
        self, client: httpx.AsyncClient, library: dict[str, str]
    ) -> None:
        body: dict[str, Any] = {
            "query": "guide or trails or cat",
            "search_type": "hybrid",
            "sort": [{"metadata.pages": {"order": "asc"}}],
            "facet": ["metadata.shelf"],
            "limit": 2,
        }
        first = await search(client, library, **body)
        assert ids(first) == ["alps", "cat"]
        assert first["has_more"] is True
        second = await search(client, library, **body, page=2)
        assert ids(second) == ["tax"]
        buckets = first["facet_result"]["metadata.shelf"]["buckets"]
        assert sorted(bucket["value"] for bucket in buckets) == ["money", "pets", "travel"]


@pytest.mark.usefixtures("semantic")
class TestHybrid:
    async def test_finds_what_either_side_finds(
        self, client: httpx.AsyncClient, library: dict[str, str]
    ) -> None:
        result = await search(client, library, query="kitten accounting", search_type="hybrid")
        assert {"cat", "tax"} <= set(ids(result))
        assert result["data"][0]["score"] <= 100

    async def test_the_ratio_chooses_a_side(
        self, client: httpx.AsyncClient, library: dict[str, str]
    ) -> None:
        lexical_only = await search(
            client, library, query="kitten", search_type="hybrid", hybrid_search_ai_ratio=0
        )
        assert lexical_only["data"] == []
        semantic_only = await search(
            client, library, query="kitten", search_type="hybrid", hybrid_search_ai_ratio=1
        )
        assert ids(semantic_only)[0] == "cat"


class TestFusion:
    def test_one_side_empty_keeps_the_others_order(self) -> None:
        lexical = [("a", 9.0), ("b", 5.0)]
        assert [id_ for id_, _ in fused(lexical, [], 0.5)] == ["a", "b"]
        assert [id_ for id_, _ in fused([], lexical, 0.5)] == ["a", "b"]
        assert fused([], [], 0.5) == []

    def test_first_on_both_sides_scores_100(self) -> None:
        [(id_, score), *_] = fused([("a", 1.0), ("b", 0.5)], [("a", 0.9)], 0.3)
        assert id_ == "a"
        assert score == pytest.approx(100)

    def test_ties_are_broken_by_id(self) -> None:
        ranked = fused([("b", 1.0), ("a", 0.5)], [("a", 1.0), ("b", 0.5)], 0.5)
        assert [id_ for id_, _ in ranked] == ["a", "b"]
        assert ranked[0][1] == ranked[1][1]

    def test_a_side_weighing_nothing_adds_nothing(self) -> None:
        ranked = fused([("a", 1.0)], [("b", 1.0)], 0.0)
        assert ranked == [("a", pytest.approx(100))]

    def test_the_ratio_weighs_ranks(self) -> None:
        lexical, semantic = [("lex", 1.0)], [("sem", 1.0)]
        assert fused(lexical, semantic, 0.7)[0][0] == "sem"
        assert fused(lexical, semantic, 0.3)[0][0] == "lex"
        [(_, score)] = fused([], [("x", 1.0)], 0.5)
        assert score == pytest.approx(50)


class TestWithoutPgvector:
    @pytest.mark.parametrize("search_type", ["ai_semantic", "hybrid"])
    async def test_answers_the_documented_501(
        self,
        client: httpx.AsyncClient,
        library: dict[str, str],
        pgvector: bool,
        search_type: str,
    ) -> None:
        if pgvector:
            pytest.skip("this PostgreSQL has pgvector")
        response = await client.post(
            SEARCH, headers=library, json={"query": "kitten", "search_type": search_type}
        )
        assert_problem(response, 501, "SEMANTIC_SEARCH_UNAVAILABLE")
        lexical = await search(client, library, query="cat", search_type="lexical")
        assert ids(lexical) == ["cat"]
