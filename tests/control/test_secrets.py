"""No password, API key or refresh token is stored or logged in plaintext."""

import logging
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.embedded import EmbeddedPostgres, _binaries
from tests.utils.factories import PASSWORD, register
from tests.utils.server import Server, environment


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


@pytest.mark.slow
def test_no_plaintext_secret_in_a_pg_dump_or_the_server_log() -> None:
    """A whole session against a real `tenantry serve` — registration, logins (individual,
    service, the admin panel's), failed ones, refreshes, new keys, data written with them —
    then `pg_dump` of its whole database (control plane, template, every database's schema)
    and the server's log: neither holds a password, key or token as sent."""
    folder = Path(tempfile.mkdtemp(prefix="tenantry-secrets-"))  # not pruned by pytest
    server = Server(folder / "data", environment() | {"TENANTRY_LOG_FORMAT": "json"})
    server.start()
    try:
        secrets, email = _full_session(server.url)
        dump = subprocess.run(
            [str(_binaries() / "pg_dump"), "--no-owner", EmbeddedPostgres(server.data_dir).url()],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    finally:
        server.stop()
        logged = server.log.read_text()
        shutil.rmtree(folder, ignore_errors=True)
    assert email in dump  # the scans see the rows and the requests
    assert "CREATE SCHEMA tenantry" in dump
    assert '"/v1/login/individual/"' in logged
    for secret in secrets:
        assert secret not in dump, secret[:12]
        assert secret not in logged, secret[:12]


def _full_session(base: str) -> tuple[set[str], str]:
    """Every way a secret reaches the server; the secrets sent and received."""
    email = f"dump.{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=base, timeout=30) as http:
        registered = http.post("/v1/register/", json={"email": email, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        body = registered.json()
        bearer = {"Authorization": f"Bearer {body['token']}"}
        db_id = body["database"]["id"]
        login = {"email": email, "password": PASSWORD, "db_id": db_id}
        logged_in = http.post("/v1/login/individual/", json=login).json()
        refreshed = http.post(
            "/v1/login/refresh-token/", json={"refresh_token": logged_in["refresh_token"]}
        ).json()
        key = http.post("/v1/api-keys/", headers=bearer, json={"role": "backend"}).json()["key"]
        service_password = "service password " + uuid.uuid4().hex
        service = {"name": f"svc-{uuid.uuid4().hex[:8]}", "password": service_password}
        role = {"role": "backend"}
        created = http.post("/v1/accounts/service/", headers=bearer, json=service | role)
        assert created.status_code == 201, created.text
        service_login = http.post("/v1/login/service/", json={**service, "db_id": db_id}).json()
        wrong = "wrong password " + uuid.uuid4().hex
        for attempt in ({**login, "password": wrong}, {**login, "email": "nobody@example.com"}):
            assert http.post("/v1/login/individual/", json=attempt).status_code == 401
        for password in (PASSWORD, wrong):  # the admin panel's form
            form = {"email": email, "password": password, "client": db_id}
            assert http.post("/admin/login", data=form).status_code < 500
        while http.get("/v1/databases/current/status/", headers={"X-API-Key": key}).json() != {
            "status": "ready"
        }:
            time.sleep(0.05)
        assert http.post("/v1/spaces", headers={"Api-Key": key}, json={"name": "s"}).is_success
        http.post("/v1/logout/", headers={"Authorization": f"Bearer {refreshed['token']}"})
    tokens = [body, logged_in, refreshed, service_login]
    secrets = {PASSWORD, service_password, wrong, key, body["api_key"]}
    secrets |= {pair[name] for pair in tokens for name in ("token", "refresh_token")}
    secrets |= {key.removeprefix("tnt_")[8:], body["api_key"].removeprefix("tnt_")[8:]}
    return secrets, email
