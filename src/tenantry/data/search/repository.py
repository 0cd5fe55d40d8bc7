"""SQL of search, in the caller's schema: matches ranked by PostgreSQL full-text search or
by pgvector's distance, a page of them with excerpts, facets, the words fuzzy search
knows and the metadata fields in use."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Double,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, REAL, REGCONFIG, TSQUERY, insert
from sqlalchemy.sql.expression import Subquery
from sqlalchemy.types import UserDefinedType

from tenantry.data.search.filters import metadata_path
from tenantry.db.sessions import TenantSession
from tenantry.models.data import Document, MetadataField, SearchWord

# ts_rank's normalization 32 maps a rank r to r / (r + 1): a score from 0 to 1.
RANK_NORMALIZATION = 32
HEADLINE = 'MaxFragments=2, MaxWords=30, MinWords=12, FragmentDelimiter=" … "'
MARKS = {True: "StartSel=<em>, StopSel=</em>", False: 'StartSel="", StopSel=""'}
# A value, or each value of an array, that is not an object.
SCALARS: ColumnElement[Any] = literal_column("""'$[*] ? (@.type() != "object")'::jsonpath""")
VECTOR_EXTENSION = (
    "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'vector'"
)
POOL = 1000  # candidates that semantic and hybrid search sort, page and facet
# HNSW yields at most ef_search rows (pgvector < 0.8 has no iterative scans): the pool's size.
EF_SEARCH = f"SET LOCAL hnsw.ef_search = {POOL}"


class Vector(UserDefinedType[Any]):
    """pgvector's `vector(n)`, named in the schema that holds the extension."""

    cache_ok = True

    def __init__(self, home: str, dimensions: int) -> None:
        self.home = home
        self.dimensions = dimensions

    def get_col_spec(self, **kw: Any) -> str:
        return f"{_quoted(self.home)}.vector({self.dimensions})"


def _quoted(name: str) -> str:
    escaped = name.replace('"', '""')
    return f'"{escaped}"'


def tsquery(config: str, query: str, *alternatives: str | None) -> ColumnElement[Any]:
    """The query as parsed by `websearch_to_tsquery` (no input is a syntax error), or'ed
    with each alternative (`to_tsquery` texts of quoted words only: any of a plain query's
    words, fuzzy corrections)."""
    regconfig = cast(bindparam(None, config, type_=Text), REGCONFIG)
    parsed: ColumnElement[Any] = func.websearch_to_tsquery(
        regconfig, bindparam(None, query, type_=Text)
    )
    for alternative in alternatives:
        if alternative is not None:
            other = func.to_tsquery(regconfig, bindparam(None, alternative, type_=Text))
            parsed = parsed.op("||", return_type=TSQUERY)(other)
    return parsed


def lexical_ranking(
    query: ColumnElement[Any],
    scope: ColumnElement[bool],
    order: Sequence[Any],
    offset: int,
    limit: int,
) -> Select[Any]:
    """Matches in scope, by `order` then best first: (id, score 0 to 100)."""
    score = score_of(query)
    return (
        select(Document.id, score)
        .where(Document.search_vector.op("@@")(query), scope)
        .order_by(*order, score.desc(), Document.id)
        .offset(offset)
        .limit(limit)
    )


async def ranked(session: TenantSession, statement: Select[Any]) -> list[tuple[str, float]]:
    return [(row[0], float(row[1])) for row in await session.execute(statement)]


def score_of(query: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.ts_rank(Document.search_vector, query, RANK_NORMALIZATION) * 100


async def vector_home(session: TenantSession) -> str | None:
    """The schema of pgvector's types and operators, or None without pgvector."""
    return (await session.execute(text(VECTOR_EXTENSION))).scalar_one_or_none()


def lexical_pool(query: ColumnElement[Any], scope: ColumnElement[bool]) -> Select[Any]:
    """The best `POOL` matches in scope: (id, score 0 to 100)."""
    return lexical_ranking(query, scope, [], 0, POOL)


async def nearest(
    session: TenantSession,
    home: str,
    vector: Sequence[float],
    *,
    model: str,
    scope: ColumnElement[bool],
    cutoff: float,
) -> list[tuple[str, float]]:
    """The `POOL` documents in scope nearest to `vector` by cosine distance among those
    embedded by `model`, through the HNSW index when the vector has its 256 dimensions:
    (id, score = 100 * cosine), those scoring at most `cutoff` left out."""
    kind = Vector(home, len(vector))
    distance = cast(Document.embedding, kind).op(
        f"OPERATOR({_quoted(home)}.<=>)", return_type=Double
    )(cast(bindparam(None, list(vector), type_=ARRAY(REAL)), kind))
    nearest_first = (
        select(Document.id, distance.label("distance"))
        .where(
            func.cardinality(Document.embedding) == len(vector),
            Document.embedding_model == model,
            scope,
        )
        .order_by(distance)
        .limit(POOL)
        .subquery("nearest")
    )
    statement = (
        select(nearest_first.c.id, (1 - nearest_first.c.distance) * 100)
        .where(nearest_first.c.distance < 1 - cutoff / 100)
        .order_by(nearest_first.c.distance, nearest_first.c.id)
    )
    await session.execute(text(EF_SEARCH))
    return await ranked(session, statement)


def chosen(ids: Sequence[str], scores: Sequence[float]) -> Subquery:
    """Documents' ids with their scores, as rows (id, score)."""
    return select(
        func.unnest(bindparam(None, list(ids), type_=ARRAY(Text))).label("id"),
        func.unnest(bindparam(None, list(scores), type_=ARRAY(Double))).label("score"),
    ).subquery("chosen")


def pool_ranking(pool: Subquery, order: Sequence[Any], offset: int, limit: int) -> Select[Any]:
    """The pool's documents by `order` then best first: (id, score)."""
    return (
        select(pool.c.id, pool.c.score)
        .join(Document, Document.id == pool.c.id)
        .order_by(*order, pool.c.score.desc(), pool.c.id)
        .offset(offset)
        .limit(limit)
    )


async def page(
    session: TenantSession,
    *,
    ids: Sequence[str],
    scores: Sequence[float],
    config: str,
    query: ColumnElement[Any],
    excerpts: bool,
    highlights: bool,
) -> list[Any]:
    """The documents `ids` in that order, with their scores and (if asked) excerpts."""
    listed = chosen(ids, scores)
    columns: list[Any] = [Document, listed.c.score]
    if excerpts:
        regconfig = cast(bindparam(None, config, type_=Text), REGCONFIG)
        body = func.coalesce(Document.plain_text, Document.content)
        options = f"{HEADLINE}, {MARKS[highlights]}"
        columns.append(func.ts_headline(regconfig, body, query, options).label("excerpt"))
    statement = select(*columns).join(listed, Document.id == listed.c.id)
    rows = {row[0].id: row for row in await session.execute(statement)}
    return [rows[id_] for id_ in ids if id_ in rows]


async def facet_terms(
    session: TenantSession, *, field: str, matches: ColumnElement[bool], size: int
) -> list[tuple[Any, int]]:
    """The `size` most frequent values of `field` among the matches, with their counts;
    each value of an array counts once."""
    if field in ("tenant_id", "language"):
        column = getattr(Document, field)
        statement = (
            select(column, func.count())
            .where(matches, column.is_not(None))
            .group_by(column)
            .order_by(func.count().desc(), column)
            .limit(size)
        )
        return [(row[0], row[1]) for row in await session.execute(statement)]
    found = metadata_path(field)
    as_array = func.jsonb_path_query(found, SCALARS)
    values = select(Document.id, as_array.label("value")).where(matches).subquery("values")
    statement = (
        select(values.c.value, func.count(func.distinct(values.c.id)))
        .group_by(values.c.value)
        .order_by(func.count(func.distinct(values.c.id)).desc(), values.c.value)
        .limit(size)
    )
    return [(row[0], row[1]) for row in await session.execute(statement)]


async def facet_ranges(
    session: TenantSession,
    *,
    field: str,
    matches: ColumnElement[bool],
    ranges: Sequence[tuple[float | None, float | None]],
) -> list[int]:
    """How many matches have a number in each [from, to) of `ranges`."""
    found = metadata_path(field)
    number = cast(found.op("#>>")(literal([], ARRAY(Text))), Double)
    is_number = func.jsonb_typeof(found) == "number"
    counts = []
    for low, high in ranges:
        test = is_number
        if low is not None:
            test = test & (number >= low)
        if high is not None:
            test = test & (number < high)
        counts.append(func.count().filter(test))
    row = (await session.execute(select(*counts).where(matches))).one()
    return list(row)


async def known_words(session: TenantSession, candidates: Sequence[str]) -> set[str]:
    statement = select(SearchWord.word).where(
        SearchWord.word == func.any(bindparam(None, list(candidates), type_=ARRAY(Text)))
    )
    return set((await session.scalars(statement)).all())


async def remember(
    session: TenantSession, words: Sequence[str], fields: Sequence[tuple[str, str]]
) -> None:
    """Record new words and metadata fields, in sorted order so that concurrent writers
    wait on each other instead of deadlocking."""
    if words:
        listed = select(func.unnest(bindparam(None, sorted(words), type_=ARRAY(Text))))
        statement = insert(SearchWord).from_select([SearchWord.word], listed)
        await session.execute(statement.on_conflict_do_nothing())
    if fields:
        kinds = dict(sorted(dict(fields).items()))
        listed = select(
            func.unnest(bindparam(None, list(kinds), type_=ARRAY(Text))),
            func.unnest(bindparam(None, list(kinds.values()), type_=ARRAY(Text))),
        )
        statement = insert(MetadataField).from_select(
            [MetadataField.field, MetadataField.type], listed
        )
        await session.execute(statement.on_conflict_do_nothing())


async def metadata_fields(session: TenantSession) -> dict[str, str]:
    statement = select(MetadataField.field, MetadataField.type).order_by(MetadataField.field)
    return {row[0]: row[1] for row in await session.execute(statement)}


def _unindexed(model: str) -> ColumnElement[bool]:
    """Written before search (no text yet) or embedded by another model than `model`."""
    return or_(Document.plain_text.is_(None), Document.embedding_model.is_distinct_from(model))


async def count_unindexed(session: TenantSession, model: str) -> int:
    statement = select(func.count()).select_from(Document).where(_unindexed(model))
    return (await session.execute(statement)).scalar_one()


async def unindexed(session: TenantSession, model: str, limit: int) -> list[Document]:
    """Up to `limit` documents to index, locked; those another backfill holds are skipped."""
    statement = (
        select(Document)
        .where(_unindexed(model))
        .order_by(Document.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(statement)).all())
