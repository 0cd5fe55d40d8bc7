"""Search (`POST /v20241104/search`): lexical ranking and its language, writes searchable at
once, tenant ids and filters, facets, sorting, pages, excerpts and highlights, fuzzy search,
HTML and Markdown as text, the metadata schema, bad input, and isolation between databases."""

from typing import Any

import httpx
import pytest

from tests.utils.factories import add_document, ready_org
from tests.utils.problems import assert_problem

SEARCH = "/v20241104/search"
SCHEMA = "/v20241104/documents/metadata-schema"
SHIRTS = [
    {
        "id": "red",
        "title": "Red Cotton T-Shirt",
        "content": "Comfortable cotton t-shirt perfect for everyday wear.",
        "tenant_id": "tenant123",
        "metadata": {"brand": "Acme", "price": 29.99, "tags": ["clothing", "casual"]},
    },
    {
        "id": "blue",
        "title": "Blue Linen Shirt",
        "content": "A light linen shirt for summer evenings, cooler than cotton.",
        "tenant_id": "tenant124",
        "metadata": {"brand": "Bolt", "price": 49.5, "tags": ["clothing"]},
    },
    {
        "id": "mug",
        "title": "Coffee Mug",
        "content": "A ceramic mug. Holds coffee, tea or cotton buds.",
        "tenant_id": "tenant123",
        "metadata": {"brand": "Acme", "price": 9, "released_on": "2024-01-01T00:00:00Z"},
    },
]


async def search(client: httpx.AsyncClient, key: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("search_type", "lexical")
    response = await client.post(SEARCH, headers=key, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def ids(result: dict[str, Any]) -> list[str]:
    return [hit["id"] for hit in result["data"]]


@pytest.fixture
async def shop(client: httpx.AsyncClient) -> dict[str, str]:
    _, key = await ready_org(client)
    for shirt in SHIRTS:
        await add_document(client, key, **shirt)
    return key


class TestLexical:
    async def test_ranks_titles_above_contents_and_stems(
        self, client: httpx.AsyncClient, shop: dict[str, str]
    ) -> None:
        result = await search(client, shop, query="cottons")
        assert ids(result)[0] == "red"  # in the title; the others only in their contents
        assert set(ids(result)) == {"red", "blue", "mug"}
        assert result["object"] == "list"
        assert result["url"] == SEARCH
        assert result["has_more"] is False
        assert result["next_page"] is None
        scores = [hit["score"] for hit in result["data"]]
        assert scores == sorted(scores, reverse=True)
        assert 0 < scores[-1] <= 100

    async def test_excerpts_mark_the_matched_words(
        self, client: httpx.AsyncClient, shop: dict[str, str]
    ) -> None:
        hit = (await search(client, shop, query="linen"))["data"][0]
        assert "<em>linen</em>" in hit["excerpt"]
        plain = (await search(client, shop, query="linen", highlights=False))["data"][0]
        assert "<em>" not in plain["excerpt"]
        assert "linen" in plain["excerpt"]
        bare = (await search(client, shop, query="linen", excerpts=False))["data"][0]
        assert bare["excerpt"] is None

    async def test_query_syntax_is_never_an_error(
        self, client: httpx.AsyncClient, shop: dict[str, str]
    ) -> None:
        assert ids(await search(client, shop, query='"cotton t-shirt"')) == ["red"]
        assert set(ids(await search(client, shop, query="cotton -mug"))) == {"red", "blue"}
        for odd in ["&|!:*()'", "' OR 1=1 --", "\\", "((((", "a" * 1000]:
            await search(client, shop, query=odd)

    async def test_plain_words_match_any_all_of_them_first(
        self, client: httpx.AsyncClient, shop: dict[str, str]
    ) -> None:
        result = await search(client, shop, query="ceramic cotton buds")
        assert ids(result)[0] == "mug"  # the only one with every word
        assert set(ids(result)) == {"mug", "red", "blue"}
        assert ids(await search(client, shop, query='"ceramic cotton"')) == []
        assert ids(await search(client, shop, query="ceramic -cotton")) == []

    async def test_writes_are_searchable_at_once(
        self, client: httpx.AsyncClient, shop: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v20241104/documents/mug", headers=shop, json={"title": "Porcelain Teapot"}
        )
        assert response.status_code == 200, response.text
        assert ids(await search(client, shop, query="teapot")) == ["mug"]
        await client.delete("/v20241104/documents/mug", headers=shop)
        assert ids(await search(client, shop, query="teapot")) == []

    async def test_fuzzy_search_corrects_typos(
        self, client: httpx.AsyncClient, shop: dict[str, str]
    ) -> None:
        assert ids(await search(client, shop, query="lnen shrit")) == ["blue"]
        assert ids(await search(client, shop, query="lnen", fuzzy_search=False)) == []

    async def test_languages_stem_their_own_way(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        await add_document(client, key, id="fr", title="Les chevaux", language="fr")
        await add_document(client, key, id="en", title="The horses", language="en")
        assert ids(await search(client, key, query="cheval", language="fr")) == ["fr"]
        assert ids(await search(client, key, query="horse")) == ["en"]
        assert ids(await search(client, key, query="horse", language="fr")) == []

    async def test_html_and_markdown_are_searched_as_text(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        html = "<html><head><style>p {color: red}</style></head><body><p>Ocean <b>waves</b></p>"
        await add_document(client, key, id="h", title="H", content=html, content_type="html")
        await add_document(
            client, key, id="m", title="M", content="# Mountain\n\n*peaks*", content_type="markdown"
        )
        assert ids(await search(client, key, query="waves")) == ["h"]
        assert ids(await search(client, key, query="color", fuzzy_search=False)) == []
        hit = (await search(client, key, query="peaks"))["data"][0]
        assert hit["id"] == "m"
        assert "*" not in hit["excerpt"]
        assert "#" not in hit["excerpt"]


class TestScope:
    async def test_tenant_ids(self, client: httpx.AsyncClient, shop: dict[str, str]) -> None:
        assert set(ids(await search(client, shop, query="cotton", tenant_id=["tenant123"]))) == {
            "red",
            "mug",
        }
        both = await search(client, shop, query="cotton", tenant_id=["tenant123", "tenant124"])
        assert len(both["data"]) == 3

    @pytest.mark.parametrize(
        ("spec", "expected"),
        [
            ({"must": [{"term": {"metadata.brand": "Acme"}}]}, {"red", "mug"}),
            ({"must": [{"term": {"metadata.tags": "casual"}}]}, {"red"}),
            ({"must": [{"terms": {"metadata.brand": ["Bolt", "Zed"]}}]}, {"blue"}),
            ({"must": [{"range": {"metadata.price": {"gte": 10, "lt": 49.5}}}]}, {"red"}),
            ({"must_not": [{"term": {"metadata.brand": "Acme"}}]}, {"blue"}),
            ({"must": [{"exists": {"field": "metadata.released_on"}}]}, {"mug"}),
            (
                {
                    "should": [
                        {"term": {"tenant_id": "tenant124"}},
                        {"range": {"metadata.price": {"lt": 10}}},
                    ]
                },
                {"blue", "mug"},
            ),
            (
                {
                    "must": [
                        {
                            "bool": {
                                "must_not": [{"term": {"metadata.brand": "Bolt"}}],
                                "must": [{"range": {"created_at": {"gte": "2000-01-01"}}}],
                            }
                        }
                    ]
                },
                {"red", "mug"},
            ),
        ],
    )
    async def test_filters(
        self,
        client: httpx.AsyncClient,
        shop: dict[str, str],
        spec: dict[str, Any],
        expected: set[str],
    ) -> None:
        assert set(ids(await search(client, shop, query="cotton", filter=spec))) == expected

    async def test_facets_count_every_match(
        self, client: httpx.AsyncClient, shop: dict[str, str]
    ) -> None:
        result = await search(
            client,
            shop,
            query="cotton",
            limit=1,
            facet=["metadata.brand", "metadata.tags", "tenant_id"],
            facet_advanced=[
                {
                    "type": "range",
                    "criteria": {
                        "field": "metadata.price",
                        "ranges": [{"to": 10}, {"from": 10, "to": 100, "key": "more"}],
                    },
                }
            ],
        )
        facets = result["facet_result"]
        assert facets["metadata.brand"]["buckets"] == [
            {"value": "Acme", "doc_count": 2},
            {"value": "Bolt", "doc_count": 1},
        ]
        assert facets["metadata.tags"]["buckets"][0] == {"value": "clothing", "doc_count": 2}
        assert facets["tenant_id"]["buckets"][0] == {"value": "tenant123", "doc_count": 2}
        assert facets["metadata.price"]["buckets"] == [
            {"value": "*-10.0", "doc_count": 1},
            {"value": "more", "doc_count": 2},
        ]

    async def test_sort_and_pages(self, client: httpx.AsyncClient, shop: dict[str, str]) -> None:
        body: dict[str, Any] = {"query": "cotton", "sort": [{"metadata.price": {"order": "desc"}}]}
        assert ids(await search(client, shop, **body)) == ["blue", "red", "mug"]
        first = await search(client, shop, **body, limit=2)
        assert ids(first) == ["blue", "red"]
        assert first["next_page"] == 2
        second = await search(client, shop, **body, limit=2, page=2)
        assert ids(second) == ["mug"]
        assert second["has_more"] is False


class TestMetadataSchema:
    async def test_types_inferred_from_first_values(
        self, client: httpx.AsyncClient, shop: dict[str, str]
    ) -> None:
        response = await client.get(SCHEMA, headers=shop)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {
            "metadata.brand": "keyword",
            "metadata.price": "float",
            "metadata.released_on": "date",
            "metadata.tags": "keyword",
        }


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"query": ""}, "query"),
            ({"query": "x" * 1001}, "query"),
            ({"query": "x", "search_type": "magic"}, "search_type"),
            ({"query": "x", "filter": {"must": [{"near": {"metadata.a": 1}}]}}, "filter.must.0"),
            (
                {"query": "x", "filter": {"must": [{"term": {"title": "a"}}]}},
                "filter.must.0.term.term.title.[key]",
            ),
            ({"query": "x", "filter": {"must": []}}, "filter.must"),
            ({"query": "x", "filter": {"any": []}}, "filter.any"),
            ({"query": "x", "filter": "brand"}, "filter"),
            ({"query": "x", "limit": 101}, "limit"),
            ({"query": "x", "sort": [{"title": {"order": "asc"}}]}, "sort.0.title.[key]"),
            ({"query": "x", "tenant_id": []}, "tenant_id"),
            ({"query": "x", "ai_search_cutoff_score": 91}, "ai_search_cutoff_score"),
        ],
    )
    async def test_named_400(
        self, client: httpx.AsyncClient, shop: dict[str, str], body: dict[str, Any], field: str
    ) -> None:
        body.setdefault("search_type", "lexical")
        response = await client.post(SEARCH, headers=shop, json=body)
        assert_problem(response, 400, "VALIDATION_ERROR")
        assert field in response.json()["errors"], response.text

    async def test_deep_nesting(self, client: httpx.AsyncClient, shop: dict[str, str]) -> None:
        spec: dict[str, Any] = {"must": [{"exists": {"field": "metadata.a"}}]}
        for _ in range(30):
            spec = {"must": [{"bool": spec}]}
        response = await client.post(
            SEARCH, headers=shop, json={"query": "x", "search_type": "lexical", "filter": spec}
        )
        assert_problem(response, 400, "VALIDATION_ERROR")
        assert "filter" in response.json()["errors"]

    async def test_bad_dates(self, client: httpx.AsyncClient, shop: dict[str, str]) -> None:
        spec = {"must": [{"range": {"created_at": {"gte": "yesterday"}}}]}
        response = await client.post(
            SEARCH, headers=shop, json={"query": "x", "search_type": "lexical", "filter": spec}
        )
        assert_problem(response, 400, "VALIDATION_ERROR")
        assert "filter.must.0.range.created_at.gte" in response.json()["errors"]


class TestIsolation:
    async def test_another_databases_documents_are_never_found(
        self, client: httpx.AsyncClient, shop: dict[str, str]
    ) -> None:
        _, other = await ready_org(client)
        await add_document(client, other, id="mine", title="Cotton candy")
        assert ids(await search(client, other, query="cotton")) == ["mine"]
        assert "mine" not in ids(await search(client, shop, query="cotton candy"))
        schema = (await client.get(SCHEMA, headers=other)).json()["data"]
        assert schema == {}
