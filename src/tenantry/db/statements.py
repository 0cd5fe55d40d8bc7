"""Statements compiled once for the driver, from the same SQLAlchemy queries the sessions
run: the hot paths send them as they are, so a query is written once for every path."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_SCHEMA = "tenantry_schema_placeholder"  # a valid name, never quoted: replaced per call
_DIALECT = asyncpg.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class DriverStatement:
    """A query's SQL with `{schema}` where the data-plane schema goes (`in_schema` fills
    it in), and the names of its parameters in the order the driver takes them."""

    sql: str
    parameters: tuple[str, ...]

    def arguments(self, **values: Any) -> tuple[Any, ...]:
        return tuple(values[name] for name in self.parameters)


def for_driver(query: ClauseElement) -> DriverStatement:
    compiled: SQLCompiler = query.compile(  # type: ignore[assignment]
        dialect=_DIALECT, schema_translate_map={None: _SCHEMA}, render_schema_translate=True
    )
    sql = str(compiled).replace(f"{_SCHEMA}.", "{schema}.")
    return DriverStatement(sql, tuple(compiled.positiontup or ()))
