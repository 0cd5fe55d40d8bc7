"""Registration, login, refresh rotation, token checks, API keys."""

import asyncio
import base64
import json
from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.auth.cache import AuthCache
from tenantry.auth.tokens import AUDIENCE, ISSUER
from tests.utils.clock import Clock
from tests.utils.factories import PASSWORD, Registration, register
from tests.utils.problems import assert_problem


class TestRegister:
    async def test_creates_org_root_database_and_key(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        registration = await register(client, local="Jane.Doe+tag")
        body = registration.body
        assert body["role"] == "root"
        assert body["database"]["status"] in ("pending", "ready")  # ready: from the warm pool
        assert body["api_key"].startswith("tnt_")
        async with engine.connect() as connection:
            schema = (
                await connection.execute(
                    text("SELECT schema_name FROM tenantry.databases WHERE id = :id"),
                    {"id": body["database"]["id"]},
                )
            ).scalar_one()
        local_part = registration.email.split("@")[0]
        stem, digits = schema.rsplit("_", 1)
        assert stem == local_part.lower().replace(".", "_").replace("+", "_")
        assert stem.startswith("jane_doe_tag_")
        assert len(digits) == 6
        assert digits.isdigit()

    async def test_email_taken(self, client: httpx.AsyncClient, registered: Registration) -> None:
        response = await client.post(
            "/v1/register/", json={"email": registered.email.upper(), "password": PASSWORD}
        )
        assert_problem(response, 400, "EMAIL_TAKEN")

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            ({"email": "not-an-email", "password": PASSWORD}, {"email"}),
            ({"email": "a@example.com", "password": "short"}, {"password"}),
            ({"email": "a@example.com"}, {"password"}),
            ({"email": "a@example.com", "password": PASSWORD, "role": "root"}, {"role"}),
        ],
    )
    async def test_invalid(
        self, client: httpx.AsyncClient, body: dict[str, str], fields: set[str]
    ) -> None:
        response = await client.post("/v1/register/", json=body)
        assert set(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == fields


class TestLogin:
    async def test_login_and_whoami(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        db_id = registered.database_id
        response = await client.post(
            "/v1/login/individual/",
            json={"email": registered.email, "password": PASSWORD, "db_id": db_id},
        )
        assert response.status_code == 200
        login = response.json()
        assert login["org_id"] == registered.body["org_id"]
        assert login["database"]["id"] == db_id
        me = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {login['token']}"})
        assert me.json()["database_id"] == db_id
        assert me.json()["role"] == "root"

    @pytest.mark.parametrize("email", ["known", "nobody@example.com"])
    async def test_wrong_password_or_unknown_email(
        self, client: httpx.AsyncClient, registered: Registration, email: str
    ) -> None:
        email = registered.email if email == "known" else email
        response = await client.post(
            "/v1/login/individual/", json={"email": email, "password": "wrong password"}
        )
        assert_problem(response, 401, "INVALID_CREDENTIALS")

    async def test_unknown_database(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        response = await client.post(
            "/v1/login/individual/",
            json={"email": registered.email, "password": PASSWORD, "db_name": "nope"},
        )
        assert_problem(response, 404, "DATABASE_NOT_FOUND")

    async def test_brute_force_is_throttled(
        self, client: httpx.AsyncClient, registered: Registration, app: FastAPI
    ) -> None:
        limit = app.state.settings.login_failures_per_account
        for _ in range(limit):
            response = await client.post(
                "/v1/login/individual/", json={"email": registered.email, "password": "nope!!"}
            )
            assert response.status_code == 401
        response = await client.post(
            "/v1/login/individual/", json={"email": registered.email, "password": PASSWORD}
        )
        assert_problem(response, 429, "LOGIN_THROTTLED")
        assert int(response.headers["retry-after"]) > 0

    async def test_parallel_guesses_check_no_more_than_the_limit(
        self, client: httpx.AsyncClient, registered: Registration, app: FastAPI
    ) -> None:
        limit = app.state.settings.login_failures_per_account
        wrong = {"email": registered.email, "password": "nope!!"}
        for _ in range(limit - 1):
            assert (await client.post("/v1/login/individual/", json=wrong)).status_code == 401
        right = {"email": registered.email, "password": PASSWORD}
        answers = await asyncio.gather(
            *(client.post("/v1/login/individual/", json=right) for _ in range(limit - 1))
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] + [429] * (limit - 2)


class TestRefresh:
    async def refresh(self, client: httpx.AsyncClient, token: str) -> httpx.Response:
        return await client.post("/v1/login/refresh-token/", json={"refresh_token": token})

    async def test_concurrent_reuse_revokes_the_family_at_once(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        token = registered.body["refresh_token"]
        answers = await asyncio.gather(*(self.refresh(client, token) for _ in range(8)))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] + [401] * 7
        winner = next(answer.json() for answer in answers if answer.status_code == 200)
        assert_problem(
            await self.refresh(client, winner["refresh_token"]), 401, "INVALID_CREDENTIALS"
        )
        me = await client.get("/v1/whoami/", headers={"Authorization": f"Bearer {winner['token']}"})
        assert_problem(me, 401, "INVALID_CREDENTIALS")

    async def test_rotation_and_reuse_revokes_the_family(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        first = registered.body["refresh_token"]
        response = await self.refresh(client, first)
        assert response.status_code == 200
        second = response.json()["refresh_token"]
        assert second != first
        assert response.json()["database"]["id"] == registered.database_id
        assert_problem(await self.refresh(client, first), 401, "INVALID_CREDENTIALS")
        assert_problem(await self.refresh(client, second), 401, "INVALID_CREDENTIALS")

    async def test_logout_revokes_the_family(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        response = await client.post("/v1/logout/", headers=registered.bearer)
        assert response.status_code == 204
        assert_problem(
            await self.refresh(client, registered.body["refresh_token"]), 401, "INVALID_CREDENTIALS"
        )

    async def test_logout_ends_the_access_token_at_once(
        self, client: httpx.AsyncClient, registered: Registration, app: FastAPI
    ) -> None:
        other = await client.post(
            "/v1/login/individual/", json={"email": registered.email, "password": PASSWORD}
        )
        assert (await client.get("/v1/whoami/", headers=registered.bearer)).status_code == 200
        assert (await client.post("/v1/logout/", headers=registered.bearer)).status_code == 204
        for path in ("/v1/whoami/", "/v1/api-keys/"):
            response = await client.get(path, headers=registered.bearer)
            assert_problem(response, 401, "INVALID_CREDENTIALS")
        still = {"Authorization": f"Bearer {other.json()['token']}"}
        assert (await client.get("/v1/whoami/", headers=still)).status_code == 200

        cache = app.state.auth_cache
        app.state.auth_cache = AuthCache(60, token_lifetime=300)  # heard no notice
        try:
            response = await client.get("/v1/whoami/", headers=registered.bearer)
            assert_problem(response, 401, "INVALID_CREDENTIALS")
            assert (await client.get("/v1/whoami/", headers=still)).status_code == 200
        finally:
            app.state.auth_cache = cache

    async def test_expired_refresh_token(
        self, client: httpx.AsyncClient, registered: Registration, clock: Clock
    ) -> None:
        clock.offset = timedelta(days=1, minutes=1)
        assert_problem(
            await self.refresh(client, registered.body["refresh_token"]),
            401,
            "REFRESH_TOKEN_EXPIRED",
        )

    async def test_access_token_is_not_a_refresh_token(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        assert_problem(await self.refresh(client, registered.token), 401, "INVALID_CREDENTIALS")


def forge(token: str, **changes: object) -> str:
    """The token's claims, changed and signed with a key the server does not have."""
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    return jwt.encode(claims, "x" * 64, algorithm="HS256", headers=jwt.get_unverified_header(token))


def unsigned(token: str) -> str:
    _, payload, _ = token.split(".")
    none_header = (
        base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
        .rstrip(b"=")
        .decode()
    )
    return f"{none_header}.{payload}."


class TestAccessToken:
    async def whoami(self, client: httpx.AsyncClient, token: str) -> httpx.Response:
        return await client.get("/v1/whoami/", headers={"Authorization": f"Bearer {token}"})

    async def test_valid_until_expiry(
        self, client: httpx.AsyncClient, registered: Registration, clock: Clock
    ) -> None:
        clock.offset = timedelta(minutes=4, seconds=59)
        assert (await self.whoami(client, registered.token)).status_code == 200
        clock.offset = timedelta(minutes=5, seconds=6)
        response = await self.whoami(client, registered.token)
        body = assert_problem(response, 401, "TOKEN_EXPIRED")
        assert body["error_code"] == 22
        assert body["error_name"] == "JwtTokenExpired"

    async def test_refresh_token_in_its_place(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        response = await self.whoami(client, registered.body["refresh_token"])
        assert_problem(response, 401, "INVALID_CREDENTIALS")

    @pytest.mark.parametrize(
        "tamper",
        [
            unsigned,
            lambda t: forge(t),
            lambda t: forge(t, aud="someone-else"),
            lambda t: forge(t, iss="someone-else"),
            lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
            lambda t: "not.a.jwt",
            lambda t: "",
        ],
        ids=[
            "alg-none",
            "wrong-key",
            "wrong-aud",
            "wrong-iss",
            "bad-signature",
            "garbage",
            "empty",
        ],
    )
    async def test_tampered(
        self, client: httpx.AsyncClient, registered: Registration, tamper: object
    ) -> None:
        response = await self.whoami(client, tamper(registered.token))  # type: ignore[operator]
        assert response.status_code == 401
        assert response.json()["code"] in {"INVALID_CREDENTIALS", "AUTHENTICATION_REQUIRED"}

    async def test_wrong_audience_even_when_signed_right(
        self, client: httpx.AsyncClient, registered: Registration, app: FastAPI
    ) -> None:
        key = app.state.tokens._key
        claims = jwt.decode(
            registered.token, key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER
        )
        claims["aud"] = "another-service"
        token = jwt.encode(
            claims, key, algorithm="HS256", headers=jwt.get_unverified_header(registered.token)
        )
        assert_problem(await self.whoami(client, token), 401, "INVALID_CREDENTIALS")

    async def test_other_scheme(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/whoami/", headers={"Authorization": "Basic YTpi"})
        assert_problem(response, 401, "INVALID_CREDENTIALS")


class TestApiKeys:
    @pytest.mark.parametrize("header", ["X-API-Key", "Api-Key"])
    async def test_either_header(
        self, client: httpx.AsyncClient, registered: Registration, header: str
    ) -> None:
        response = await client.get("/v1/whoami/", headers={header: registered.api_key})
        assert response.status_code == 200
        assert response.json()["database_id"] == registered.database_id
        assert response.json()["role"] == "backend"

    async def test_create_list_revoke(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        created = await client.post(
            "/v1/api-keys/", json={"name": "ci", "role": "frontend"}, headers=registered.bearer
        )
        assert created.status_code == 201
        key = created.json()["key"]
        listed = await client.get("/v1/api-keys/", headers=registered.bearer)
        assert key not in listed.text
        assert {k["name"] for k in listed.json()["api_keys"]} == {"default", "ci"}
        assert (await client.get("/v1/whoami/", headers={"X-API-Key": key})).status_code == 200
        revoked = await client.delete(
            f"/v1/api-keys/{created.json()['id']}/", headers=registered.bearer
        )
        assert revoked.status_code == 204
        response = await client.get("/v1/whoami/", headers={"X-API-Key": key})
        assert_problem(response, 401, "INVALID_CREDENTIALS")

    async def test_expired_key(
        self, client: httpx.AsyncClient, registered: Registration, clock: Clock
    ) -> None:
        expires = (clock() + timedelta(hours=1)).isoformat()
        created = await client.post(
            "/v1/api-keys/", json={"expires_at": expires}, headers=registered.bearer
        )
        key = created.json()["key"]
        assert (await client.get("/v1/whoami/", headers={"X-API-Key": key})).status_code == 200
        clock.offset = timedelta(hours=2)
        response = await client.get("/v1/whoami/", headers={"X-API-Key": key})
        assert_problem(response, 401, "API_KEY_EXPIRED")

    @pytest.mark.parametrize(
        "key", ["tnt_" + "a" * 46, "nonsense", "tnt_", "' OR 1=1 --", "tnt_" + "é" * 46]
    )
    async def test_malformed_keys(self, client: httpx.AsyncClient, key: str) -> None:
        response = await client.get("/v1/whoami/", headers={"X-API-Key": key.encode()})
        assert_problem(response, 401, "INVALID_CREDENTIALS")

    async def test_token_and_key_of_different_orgs(self, client: httpx.AsyncClient) -> None:
        first, second = await register(client), await register(client)
        response = await client.get(
            "/v1/whoami/", headers={**first.bearer, "X-API-Key": second.api_key}
        )
        assert_problem(response, 403, "CREDENTIALS_MISMATCH")

    async def test_token_and_key_of_the_same_org(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        response = await client.get(
            "/v1/whoami/", headers={**registered.bearer, "X-API-Key": registered.api_key}
        )
        assert response.json()["role"] == "backend"  # the lesser of root and the key's role

    async def test_anonymous(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/whoami/")
        assert response.json() == {
            "org_id": None,
            "account_id": None,
            "api_key_id": None,
            "role": None,
            "database_id": None,
        }
