"""The backfill of documents written before search (tenant revision 0009): their HTML read
as text, metadata fields and embeddings, a batch per transaction, resumed where it
stopped, as `tenantry migrate` runs it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.cli.migrate import _backfill
from tenantry.data.search import service as search
from tenantry.db.migrate import registered_schemas
from tenantry.db.sessions import TenantSession, in_schema, tenant_session
from tests.utils.factories import add_document, ready_org

SEARCH = "/v20241104/search"
SCHEMA = "/v20241104/documents/metadata-schema"
BEFORE_SEARCH = """
UPDATE {schema}.documents SET plain_text = NULL, embedding = NULL, embedding_model = NULL;
DELETE FROM {schema}.metadata_fields;
"""


async def schema_of(client: httpx.AsyncClient, engine: AsyncEngine, key: dict[str, str]) -> str:
    db_id = (await client.get("/v1/databases/current/", headers=key)).json()["id"]
    async with engine.connect() as connection:
        query = text("SELECT schema_name FROM tenantry.databases WHERE id = :id")
        return str((await connection.execute(query, {"id": db_id})).scalar_one())


@asynccontextmanager
async def session_in(engine: AsyncEngine, schema: str) -> AsyncIterator[TenantSession]:
    async with tenant_session(engine, schema) as session:
        yield session


async def written_before_search(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> tuple[dict[str, str], str]:
    _, key = await ready_org(client)
    for n in range(3):
        await add_document(
            client,
            key,
            id=f"page{n}",
            title=f"Page {n}",
            content=f"<p>caf&eacute; number {n}</p>",
            content_type="html",
            metadata={"shelf": "a"},
        )
    schema = await schema_of(client, engine, key)
    async with session_in(engine, schema) as session:
        for statement in BEFORE_SEARCH.strip().split(";\n"):
            await session.execute(text(in_schema(statement, schema)))
    return key, schema


class TestBackfill:
    async def test_indexes_in_batches_and_resumes(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        key, schema = await written_before_search(client, engine)
        found = await client.post(
            SEARCH, headers=key, json={"query": "café", "search_type": "lexical"}
        )
        assert found.json()["data"] == []  # `content` indexed as it is: `caf&eacute;`
        async with session_in(engine, schema) as session:
            assert await search.count_unindexed(session) == 3
            assert await search.backfill(session, limit=2) == 2
        async with session_in(engine, schema) as session:  # a later run resumes
            assert await search.count_unindexed(session) == 1
            assert await search.backfill(session, limit=2) == 1
        async with session_in(engine, schema) as session:
            assert await search.backfill(session) == 0
        found = await client.post(
            SEARCH, headers=key, json={"query": "café", "search_type": "lexical"}
        )
        assert sorted(hit["id"] for hit in found.json()["data"]) == ["page0", "page1", "page2"]
        schema_fields = (await client.get(SCHEMA, headers=key)).json()["data"]
        assert schema_fields == {"metadata.shelf": "keyword"}

    async def test_migrate_runs_it_over_every_schema(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        _, schema = await written_before_search(client, engine)
        async with engine.connect() as connection:
            schemas = await registered_schemas(connection)
        await _backfill(engine, schemas, quiet=True)
        async with session_in(engine, schema) as session:
            assert await search.count_unindexed(session) == 0
            embedded = await session.execute(
                text(
                    in_schema(
                        "SELECT count(*) FROM {schema}.documents "
                        "WHERE cardinality(embedding) = 256",
                        schema,
                    )
                )
            )
            assert embedded.scalar_one() == 3
