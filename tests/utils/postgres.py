"""Databases of their own on the suite's PostgreSQL server, created and dropped by URL."""

import uuid

import asyncpg


def plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def create_database(server_url: str) -> str:
    """Create an empty database on the server of `server_url`; return its URL."""
    name = f"tenantry_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(plain_url(server_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base, _, query = plain_url(server_url).partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


async def drop_database(url: str) -> None:
    base, _, query = url.partition("?")
    server, name = base.rsplit("/", 1)
    connection = await asyncpg.connect(f"{server}/postgres" + (f"?{query}" if query else ""))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
