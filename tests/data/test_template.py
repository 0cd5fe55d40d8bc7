"""Loading and dumping the template document."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.data import template
from tenantry.db.migrate import create_schema
from tenantry.db.schema_names import make
from tenantry.db.sessions import tenant_session
from tests.utils.template import DOCUMENT, filled


@pytest.fixture
async def schema(engine: AsyncEngine) -> AsyncIterator[str]:
    name = make("template_test")
    await create_schema(engine, name, kind="database")
    yield name
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


async def load(engine: AsyncEngine, schema: str, document: Any) -> dict[str, int]:
    async with tenant_session(engine, schema) as session:
        return await template.load(session, document)


async def dump(engine: AsyncEngine, schema: str) -> template.Document:
    async with tenant_session(engine, schema) as session:
        return await template.dump(session)


async def test_round_trip(engine: AsyncEngine, schema: str) -> None:
    counts = await load(engine, schema, DOCUMENT)
    assert {table: n for table, n in counts.items() if n} == {
        "tenant_models": 1,
        "spaces": 1,
        "space_backgrounds": 1,
    }
    assert filled(await dump(engine, schema)) == DOCUMENT


async def test_load_replaces_every_row(engine: AsyncEngine, schema: str) -> None:
    await load(engine, schema, DOCUMENT)
    await load(engine, schema, {"tenant_models": [{"name": "Only"}]})
    document = await dump(engine, schema)
    assert document["spaces"] == []
    assert document["space_backgrounds"] == []
    assert [row["name"] for row in document["tenant_models"]] == ["Only"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a JSON object"),
        ({"users_of_doom": []}, "unknown tables"),
        ({"spaces": {"name": "x"}}, "expected a list of objects"),
        ({"spaces": [{"name": "x", "colour": "red"}]}, "unknown columns"),
        ({"spaces": [{"space_id": "not-a-uuid", "name": "x"}]}, "spaces.space_id"),
        ({"spaces": [{"name": 42}]}, "spaces.name: expected str"),
        ({"tenant_models": [{"name": "x", "is_enabled": "yes"}]}, "expected bool"),
        ({"spaces": [{"name": "x", "created_at": "yesterday"}]}, "spaces.created_at"),
        ({"space_backgrounds": [{"data": "***"}]}, "space_backgrounds.data"),
    ],
)
async def test_bad_documents_change_nothing(
    engine: AsyncEngine, schema: str, document: Any, message: str
) -> None:
    await load(engine, schema, DOCUMENT)
    with pytest.raises(template.TemplateDocumentError, match=message):
        await load(engine, schema, document)
    assert filled(await dump(engine, schema)) == DOCUMENT
