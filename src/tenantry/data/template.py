"""The template (schema `public`): exported to and loaded from a JSON document.

The document is an object with one key per data-plane table, each a list of rows as
objects of column values. Binary columns are base64, timestamps ISO 8601.
"""

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, LargeBinary, Table, delete, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import DateTime, Uuid

from tenantry.db.base import stored_columns
from tenantry.db.migrate import template_tables
from tenantry.db.sessions import TenantSession

Document = dict[str, list[dict[str, Any]]]


class TemplateDocumentError(ValueError):
    pass


def to_json(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, LargeBinary):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime | uuid.UUID):
        return value.isoformat() if isinstance(value, datetime) else str(value)
    return value


def from_json(table: Table, column: Column[Any], value: Any) -> Any:
    if value is None or isinstance(column.type, JSONB):
        return value
    where = f"{table.name}.{column.name}"
    try:
        if isinstance(column.type, LargeBinary):
            return base64.b64decode(value, validate=True)
        if isinstance(column.type, Uuid):
            return uuid.UUID(value)
        if isinstance(column.type, DateTime):
            return datetime.fromisoformat(value)
    except (TypeError, ValueError, binascii.Error) as error:
        raise TemplateDocumentError(f"{where}: {error}") from error
    expected = column.type.python_type
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise TemplateDocumentError(f"{where}: expected {expected.__name__}")
    return value


def _rows(table: Table, rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise TemplateDocumentError(f"{table.name}: expected a list of objects")
    parsed = []
    for row in rows:
        unknown = set(row) - {column.name for column in stored_columns(table)}
        if unknown:
            raise TemplateDocumentError(f"{table.name}: unknown columns {sorted(unknown)}")
        parsed.append({name: from_json(table, table.columns[name], v) for name, v in row.items()})
    return parsed


async def dump(session: TenantSession) -> Document:
    document: Document = {}
    for table in template_tables():
        primary_key = list(table.primary_key.columns)
        result = await session.execute(select(*stored_columns(table)).order_by(*primary_key))
        document[table.name] = [
            {name: to_json(table.columns[name], value) for name, value in row.items()}
            for row in result.mappings()
        ]
    return document


async def load(session: TenantSession, document: Any) -> dict[str, int]:
    """Replace every data-plane row of the session's schema with the document's rows."""
    if not isinstance(document, dict):
        raise TemplateDocumentError("the template document must be a JSON object")
    tables = template_tables()
    unknown = set(document) - {table.name for table in tables}
    if unknown:
        raise TemplateDocumentError(f"unknown tables: {sorted(unknown)}")
    parsed = {table.name: _rows(table, document.get(table.name, [])) for table in tables}
    for table in reversed(tables):
        await session.execute(delete(table))
    for table in tables:
        if parsed[table.name]:
            await session.execute(insert(table), parsed[table.name])
    return {name: len(rows) for name, rows in parsed.items()}
