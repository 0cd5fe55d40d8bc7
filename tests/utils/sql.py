"""Reads of the test database behind the API's back."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def schema_of(engine: AsyncEngine, db_id: str) -> str:
    """The schema of the database `db_id`."""
    name: str = await scalar(
        engine, "SELECT schema_name FROM tenantry.databases WHERE id = :id", id=db_id
    )
    return name


async def schema_exists(engine: AsyncEngine, schema: str) -> bool:
    found = await scalar(engine, "SELECT 1 FROM pg_namespace WHERE nspname = :s", s=schema)
    return found is not None


async def drop_schema(engine: AsyncEngine, schema: str) -> None:
    """Drop a schema a test made with `create_schema`, and its row in the registry: a
    registered schema that is gone would stop `tenantry migrate` in a later test."""
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await connection.execute(
            text("DELETE FROM tenantry.schemas WHERE name = :s"), {"s": schema}
        )
