"""One database's rows as an archive: JSON lines, versioned, streamed both ways.

    {"format": "tenantry.database", "version": 1, "tenant_revision": "0006", "database": {…}}
    {"table": "spaces", "columns": ["space_id", "name", …]}
    ["9b2d…", "A space", …]
    …
    {"end": {"spaces": 1, …}}

The first line says what follows: the format's version, the tenant revision the schema
was at (an archive loads into a schema at that same revision), and the database's
settings (name, id types, …). Then each data-plane table, parents first, as a line naming
its stored columns (not those PostgreSQL generates) and a line per row, values as the
template document writes them (binary base64, timestamps ISO 8601, JSON as JSON). The
last line counts each table's rows: an
archive cut short is refused, not loaded in part. The tables the counting triggers derive
are not written: loading the others rebuilds them.
"""

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.data.template import TemplateDocumentError, from_json, to_json
from tenantry.db.base import stored_columns
from tenantry.db.migrate import head, template_tables
from tenantry.db.sessions import bind_schema

FORMAT = "tenantry.database"
VERSION = 1
BATCH = 1000  # rows read or inserted at a time


class ArchiveError(ValueError):
    """Not an archive this server can load; nothing was loaded."""


def _line(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


async def export(
    connection: AsyncConnection, schema: str, database: dict[str, Any]
) -> AsyncIterator[bytes]:
    """The archive of `schema`, a line at a time, read in the caller's transaction (make
    it REPEATABLE READ: one snapshot for every table)."""
    bound = await bind_schema(connection, schema)
    header = {"format": FORMAT, "version": VERSION, "tenant_revision": head("tenant")}
    yield _line(header | {"database": database})
    counts: dict[str, int] = {}
    for table in template_tables():
        columns = stored_columns(table)
        yield _line({"table": table.name, "columns": [column.name for column in columns]})
        counts[table.name] = 0
        query = select(*columns).order_by(*table.primary_key.columns)
        result = await bound.stream(query.execution_options(yield_per=BATCH))
        async for rows in result.partitions():
            for row in rows:
                yield _line(
                    [to_json(column, value) for column, value in zip(columns, row, strict=True)]
                )
            counts[table.name] += len(rows)
    yield _line({"end": counts})


def header(first_line: bytes) -> dict[str, Any]:
    """The database settings an archive carries, once its first line says it is one this
    server loads."""
    try:
        found = json.loads(first_line)
    except ValueError:
        found = None
    if not isinstance(found, dict) or found.get("format") != FORMAT:
        raise ArchiveError("not a database archive (`tenantry databases export` writes one)")
    if found.get("version") != VERSION:
        raise ArchiveError(f"archive format version {found.get('version')!r}; this reads {VERSION}")
    revision = head("tenant")
    if found.get("tenant_revision") != revision:
        raise ArchiveError(
            f"the archive's schema is at revision {found.get('tenant_revision')!r}, this "
            f"server's at {revision!r}: load it on a server of its revision, then migrate"
        )
    database = found.get("database")
    if not isinstance(database, dict):
        raise ArchiveError("the archive's first line has no database")
    return database


async def load(connection: AsyncConnection, schema: str, lines: Iterable[bytes]) -> dict[str, int]:
    """Replace every data-plane row of `schema` with the archive's (the lines after the
    first), in the caller's transaction; the rows loaded per table."""
    bound = await bind_schema(connection, schema)
    tables = {table.name: table for table in template_tables()}
    for each in reversed(tables.values()):
        await bound.execute(delete(each))
    counts: dict[str, int] = {}
    table: Table | None = None
    batch: list[dict[str, Any]] = []

    async def flush() -> None:
        if table is not None and batch:
            await bound.execute(insert(table), batch)
            batch.clear()

    for number, raw in enumerate(lines, start=2):
        try:
            line = json.loads(raw)
            if isinstance(line, list):
                columns = stored_columns(table) if table is not None else []
                if table is None or len(line) != len(columns):
                    raise ArchiveError("a row outside a table, or of another length")
                batch.append(
                    {c.name: from_json(table, c, v) for c, v in zip(columns, line, strict=True)}
                )
                counts[table.name] += 1
                if len(batch) >= BATCH:
                    await flush()
            elif isinstance(line, dict) and "table" in line:
                await flush()
                table = tables.get(line["table"])
                stored = (
                    [column.name for column in stored_columns(table)] if table is not None else []
                )
                if table is None or line.get("columns") != stored:
                    raise ArchiveError(f"table {line['table']!r} is not this revision's")
                counts[table.name] = 0
            elif isinstance(line, dict) and "end" in line:
                await flush()
                if line["end"] != counts or set(counts) != set(tables):
                    raise ArchiveError(f"the archive counts {line['end']}, it held {counts}")
                return counts
            else:
                raise ArchiveError("neither a table, a row nor the end")
        except (ValueError, TemplateDocumentError) as error:
            raise ArchiveError(f"line {number}: {error}") from None
    raise ArchiveError("the archive is cut short: it has no end line")
