"""Search of the caller's database's documents, and what a write gives search to read.
Services never commit."""

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, false, true

from tenantry.data.search import filters, repository
from tenantry.data.search.embeddings import document_text, embedder
from tenantry.data.search.schemas import (
    Bucket,
    FacetResult,
    MetadataSchema,
    RangeFacet,
    SearchRequest,
    SearchResult,
    SearchResults,
    TermsFacet,
)
from tenantry.data.search.text import (
    any_of,
    fuzzable,
    metadata_fields,
    one_typo_away,
    plain_text,
    query_words,
    words,
)
from tenantry.db.sessions import TenantSession
from tenantry.errors import TenantryError
from tenantry.kernel.languages import configuration
from tenantry.kernel.versions import V20241104
from tenantry.models.data import Document

SEARCH_URL = f"{V20241104}/search"
METADATA_SCHEMA_URL = f"{V20241104}/documents/metadata-schema"
MAX_QUERY_WORDS = 32
MAX_CORRECTED = 8  # unknown words of a query that fuzzy search tries to correct
BACKFILL_BATCH = 100  # documents indexed per transaction by the backfill
RRF_K = 60  # reciprocal-rank fusion's constant: rank r weighs 1 / (RRF_K + r)


class SemanticSearchUnavailable(TenantryError):
    status = 501
    code = "SEMANTIC_SEARCH_UNAVAILABLE"
    error_code = 0
    error_name = "ServerError"
    default_detail = (
        "This server's PostgreSQL has no pgvector: ai_semantic and hybrid search are not "
        "available; lexical search is."
    )


# --- writes --------------------------------------------------------------------------


async def indexed(values: dict[str, Any]) -> dict[str, Any]:
    """What search reads of a document: its `content` as text, converted in a thread, and
    the embedding of its title and text with the name of the model that made it."""
    text = await asyncio.to_thread(plain_text, values["content"], values["content_type"])
    model = embedder()
    [vector] = await model.embed([document_text(values["title"], text)])
    return {"plain_text": text, "embedding": vector, "embedding_model": model.model}


async def remember(session: TenantSession, document: Document) -> None:
    """Record the words and metadata fields of a written document, in its transaction."""
    text = document.plain_text if document.plain_text is not None else document.content
    await repository.remember(
        session, sorted(words(document.title, text)), list(metadata_fields(document.extra))
    )


async def count_unindexed(session: TenantSession) -> int:
    """Documents the backfill has still to index."""
    return await repository.count_unindexed(session, embedder().model)


async def backfill(session: TenantSession, *, limit: int = BACKFILL_BATCH) -> int:
    """Index up to `limit` documents written before search, or embedded by another model
    than the configured one: their text, words, metadata fields and embeddings. How many;
    0 when none is left. Each call's work is kept once its transaction commits, so an
    interrupted backfill resumes where it stopped."""
    model = embedder()
    documents = await repository.unindexed(session, model.model, limit)
    if not documents:
        return 0
    texts = await asyncio.to_thread(
        lambda: [plain_text(each.content, each.content_type) for each in documents]
    )
    vectors = await model.embed(
        [document_text(each.title, text) for each, text in zip(documents, texts, strict=True)]
    )
    for document, text, vector in zip(documents, texts, vectors, strict=True):
        document.plain_text = text
        document.embedding = vector
        document.embedding_model = model.model
        await remember(session, document)
    await session.flush()
    return len(documents)


# --- reads ---------------------------------------------------------------------------


def _scope(request: SearchRequest) -> ColumnElement[bool]:
    tests: list[ColumnElement[bool]] = [true()]
    if not request.multilingual_search:
        tests.append(Document.language == request.language)
    if request.tenant_id is not None:
        tests.append(Document.tenant_id.in_(request.tenant_id))
    if request.filter is not None:
        tests.append(filters.condition(request.filter))
    return and_(*tests)


async def _corrections(session: TenantSession, query: str) -> str | None:
    """The query's words with each unknown one replaced by the known words one typo away,
    as a `to_tsquery` text; None when no word needs or finds a correction."""
    asked = query_words(query)[:MAX_QUERY_WORDS]
    known = await repository.known_words(session, asked)
    unknown = [word for word in asked if word not in known and fuzzable(word)][:MAX_CORRECTED]
    if not unknown:
        return None
    near = {word: one_typo_away(word) for word in unknown}
    found = await repository.known_words(session, sorted(set().union(*near.values())))
    groups = []
    for word in asked:
        choices = sorted(found & near[word]) if word in near else [word]
        if choices:
            groups.append("(" + " | ".join(f"'{choice}'" for choice in choices) + ")")
    corrected = any(found & alternatives for alternatives in near.values())
    return " & ".join(groups) if corrected else None


async def search(
    session: TenantSession, request: SearchRequest, *, livemode: bool
) -> SearchResults:
    config = configuration(request.language)
    scope = _scope(request)
    fuzzy = request.fuzzy_search and request.search_type != "ai_semantic"
    corrections = await _corrections(session, request.query) if fuzzy else None
    query = repository.tsquery(config, request.query, any_of(request.query), corrections)
    offset = (request.page - 1) * request.limit
    if request.search_type == "lexical":
        score = repository.score_of(query)
        statement = repository.lexical_ranking(
            query, scope, _order(request, score), offset, request.limit + 1
        )
        matches = and_(Document.search_vector.op("@@")(query), scope)
    else:
        candidates = await _pool(session, request, query, scope)
        ids = [id_ for id_, _ in candidates]
        pool = repository.chosen(ids, [score for _, score in candidates])
        statement = repository.pool_ranking(
            pool, _order(request, pool.c.score), offset, request.limit + 1
        )
        matches = Document.id.in_(ids) if ids else false()
    hits = await repository.ranked(session, statement)
    shown = hits[: request.limit]
    rows = await repository.page(
        session,
        ids=[id_ for id_, _ in shown],
        scores=[score for _, score in shown],
        config=config,
        query=query,
        excerpts=request.excerpts,
        highlights=request.highlights,
    )
    has_more = len(hits) > request.limit
    return SearchResults(
        url=SEARCH_URL,
        data=[_result(row, request.excerpts) for row in rows],
        has_more=has_more,
        next_page=request.page + 1 if has_more else None,
        page=request.page,
        limit=request.limit,
        search_type=request.search_type,
        facet_result=await _facets(session, request, matches),
        livemode=livemode,
    )


def _order(request: SearchRequest, score: ColumnElement[Any]) -> list[Any]:
    return [
        term
        for criterion in request.sort or ()
        for field, spec in criterion.items()
        for term in filters.sort_key(field, spec, score)
    ]


async def _pool(
    session: TenantSession,
    request: SearchRequest,
    query: ColumnElement[Any],
    scope: ColumnElement[bool],
) -> list[tuple[str, float]]:
    """The candidates of semantic or hybrid search, best first: at most
    `repository.POOL` of each kind, fused for hybrid."""
    home = await repository.vector_home(session)
    if home is None:
        raise SemanticSearchUnavailable
    model = embedder()
    [vector] = await model.embed([request.query])
    semantic = await repository.nearest(
        session,
        home,
        vector,
        model=model.model,
        scope=scope,
        cutoff=request.ai_search_cutoff_score,
    )
    if request.search_type == "ai_semantic":
        return semantic
    lexical = await repository.ranked(session, repository.lexical_pool(query, scope))
    return fused(lexical, semantic, request.hybrid_search_ai_ratio)


def fused(
    lexical: Sequence[tuple[str, float]],
    semantic: Sequence[tuple[str, float]],
    ai_ratio: float,
) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: a document ranked r by a side weighing w gains
    w / (RRF_K + r), the semantic side weighing `ai_ratio` and the lexical 1 - `ai_ratio`;
    scores scaled so that first on both sides is 100, a side weighing 0 left out, ties
    broken by id."""
    gained: dict[str, float] = defaultdict(float)
    for weight, ranking in ((ai_ratio, semantic), (1 - ai_ratio, lexical)):
        if weight == 0:
            continue
        for rank, (id_, _) in enumerate(ranking, start=1):
            gained[id_] += weight / (RRF_K + rank)
    best = 1 / (RRF_K + 1)
    scored = [(id_, 100 * gain / best) for id_, gain in gained.items()]
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]))


def _result(row: Any, excerpts: bool) -> SearchResult:
    document: Document = row[0]
    return SearchResult(
        id=document.id,
        title=document.title,
        excerpt=row[2] if excerpts else None,
        score=round(row[1], 4),
        content_type=document.content_type,
        language=document.language,
        metadata=document.extra,
        source_uri=document.source_uri,
        tenant_id=document.tenant_id,
        created_at=document.created_at,
        updated_at=document.updated_at,
    )


async def _facets(
    session: TenantSession, request: SearchRequest, matches: ColumnElement[bool]
) -> dict[str, FacetResult] | None:
    """`facet` (the top 10 values of each field) and `facet_advanced` (terms of a chosen
    size, numeric ranges) over every match, not only the page shown."""
    if request.facet is None and request.facet_advanced is None:
        return None
    asked: list[TermsFacet | RangeFacet] = [
        TermsFacet.model_validate({"type": "terms", "criteria": {"field": field}})
        for field in request.facet or ()
    ]
    results: dict[str, FacetResult] = {}
    for facet in [*asked, *(request.facet_advanced or ())]:
        field = facet.criteria.field
        if isinstance(facet, TermsFacet):
            counted = await repository.facet_terms(
                session, field=field, matches=matches, size=facet.criteria.size
            )
            buckets = [Bucket(value=value, doc_count=count) for value, count in counted]
        else:
            bounds = [(each.from_, each.to) for each in facet.criteria.ranges]
            counts = await repository.facet_ranges(
                session, field=field, matches=matches, ranges=bounds
            )
            buckets = [
                Bucket(value=each.key or _range_key(each.from_, each.to), doc_count=count)
                for each, count in zip(facet.criteria.ranges, counts, strict=True)
            ]
        results[field] = FacetResult(buckets=buckets)
    return results


def _range_key(low: float | None, high: float | None) -> str:
    return f"{'*' if low is None else low}-{'*' if high is None else high}"


async def metadata_schema(session: TenantSession, *, livemode: bool) -> MetadataSchema:
    fields = await repository.metadata_fields(session)
    return MetadataSchema(url=METADATA_SCHEMA_URL, data=fields, livemode=livemode)
