"""No password, API key or refresh token is stored or logged in plaintext."""

import logging

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.control.conftest import PASSWORD, register


async def test_no_plaintext_secret_in_the_database_or_logs(
    client: httpx.AsyncClient, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    registration = await register(client)
    key = (await client.post("/v1/api-keys/", headers=registration.bearer, json={})).json()["key"]
    refreshed = await client.post(
        "/v1/login/refresh-token/", json={"refresh_token": registration.body["refresh_token"]}
    )
    secrets = {
        PASSWORD,
        key,
        registration.api_key,
        registration.body["refresh_token"],
        refreshed.json()["refresh_token"],
    }
    async with engine.connect() as connection:
        tables = (
            (
                await connection.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables"
                        " WHERE table_schema = 'tenantry'"
                    )
                )
            )
            .scalars()
            .all()
        )
        dump = []
        for table in tables:
            rows = await connection.execute(text(f'SELECT t::text FROM tenantry."{table}" t'))
            dump.extend(rows.scalars().all())
    stored = "\n".join(dump)
    logged = "\n".join(
        record.getMessage() + str(getattr(record, "fields", "")) for record in caplog.records
    )
    assert registration.email in stored  # the scan sees the rows
    for secret in secrets:
        assert secret not in stored
        assert secret not in logged
