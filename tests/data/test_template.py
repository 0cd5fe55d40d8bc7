"""Loading and dumping the template document."""

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.data import template
from tenantry.db.migrate import create_schema
from tenantry.db.schema_names import make
from tenantry.db.sessions import tenant_session

SPACE_ID = "6f1c2a8e-3b7d-4c1e-9a55-0d2b8f6e4a10"
DOCUMENT: dict[str, Any] = {
    "spaces": [
        {
            "space_id": SPACE_ID,
            "name": "Lobby",
            "description": "Where everyone starts",
            "metadata": {"floor": 1, "tags": ["a", "b"]},
            "created_at": "2026-01-02T03:04:05+00:00",
            "updated_at": "2026-01-02T03:04:05+00:00",
        },
    ],
    "space_backgrounds": [
        {
            "space_id": SPACE_ID,
            "content_type": "image/png",
            "sha256": "0" * 64,
            "data": base64.b64encode(b"\x89PNG fake").decode(),
            "created_at": "2026-01-02T03:04:05+00:00",
            "updated_at": "2026-01-02T03:04:05+00:00",
        },
    ],
    "tenant_models": [
        {
            "tenant_model_id": "1a2b3c4d-0000-4000-8000-000000000001",
            "name": "Default",
            "description": None,
            "model_id": "gpt-x",
            "alias": "default",
            "is_enabled": True,
            "overrides": {"temperature": 0.2},
            "created_at": "2026-01-02T03:04:05+00:00",
            "updated_at": "2026-01-02T03:04:05+00:00",
        },
    ],
}


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


def _filled(document: template.Document) -> template.Document:
    """The tables of `document` that hold rows."""
    return {table: rows for table, rows in document.items() if rows}


async def test_round_trip(engine: AsyncEngine, schema: str) -> None:
    counts = await load(engine, schema, DOCUMENT)
    assert {table: n for table, n in counts.items() if n} == {
        "tenant_models": 1,
        "spaces": 1,
        "space_backgrounds": 1,
    }
    assert _filled(await dump(engine, schema)) == DOCUMENT


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
    assert _filled(await dump(engine, schema)) == DOCUMENT
