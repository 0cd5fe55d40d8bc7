"""Tokens signed with the server's own key whose claims have the wrong JSON types are
invalid credentials (401), never a server error."""

from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tenantry.auth.tokens import AUDIENCE, ISSUER, InvalidToken, TokenService, TokenType
from tests.utils.factories import register
from tests.utils.problems import assert_problem

WRONG_TYPES: list[dict[str, object]] = [
    {"db": 5},
    {"db": {}},
    {"db": []},
    {"db": True},
    {"sub": []},
    {"sub": 7},
    {"sub": None},
    {"org": None},
    {"org": {"id": "x"}},
    {"role": 3},
    {"role": ["owner"]},
    {"fam": 1},
    {"fam": None},
    {"jti": 1.5},
    {"fuid": True},
    {"fuid": 1.5},
    {"fuid": []},
    {"fsid": {}},
]
IDS = [",".join(f"{name}={value!r}" for name, value in changes.items()) for changes in WRONG_TYPES]


def resigned(tokens: TokenService, token: str, **changes: object) -> str:
    """The token with its claims changed, signed again with the service's own key."""
    claims = jwt.decode(token, tokens._key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    claims.update(changes)
    header = jwt.get_unverified_header(token)
    return jwt.encode(claims, tokens._key, algorithm="HS256", headers=header)


class TestClaimTypes:
    @pytest.fixture
    def tokens(self) -> TokenService:
        return TokenService(
            "s" * 40, access_ttl=timedelta(minutes=5), refresh_ttl=timedelta(days=1)
        )

    def issue(self, tokens: TokenService, kind: TokenType, database_id: str | None) -> str:
        return tokens.issue(
            kind,
            account_id="account",
            org_id="org",
            role="owner",
            database_id=database_id,
            family_id="family",
        ).token

    @pytest.mark.parametrize("kind", ["access", "refresh"])
    @pytest.mark.parametrize("database_id", ["db", None])
    def test_the_issued_types_are_valid(
        self, tokens: TokenService, kind: TokenType, database_id: str | None
    ) -> None:
        claims = tokens.decode(self.issue(tokens, kind, database_id), kind)
        assert (claims.account_id, claims.database_id) == ("account", database_id)

    @pytest.mark.parametrize(("user", "session"), [(42, "s-1"), ("u-1", None), (None, 7)])
    def test_the_frontend_ids_of_a_login_come_back(
        self, tokens: TokenService, user: int | str | None, session: int | str | None
    ) -> None:
        issued = tokens.issue(
            "access",
            account_id="account",
            org_id="org",
            role="frontend",
            database_id="db",
            family_id="family",
            frontend_user_id=user,
            frontend_session_id=session,
        )
        claims = tokens.decode(issued.token, "access")
        assert (claims.frontend_user_id, claims.frontend_session_id) == (user, session)

    @pytest.mark.parametrize("kind", ["access", "refresh"])
    @pytest.mark.parametrize("changes", WRONG_TYPES, ids=IDS)
    def test_wrong_types_are_invalid(
        self, tokens: TokenService, kind: TokenType, changes: dict[str, object]
    ) -> None:
        token = resigned(tokens, self.issue(tokens, kind, "db"), **changes)
        with pytest.raises(InvalidToken):
            tokens.decode(token, kind)


class TestOverHttp:
    @pytest.mark.parametrize("changes", WRONG_TYPES, ids=IDS)
    async def test_wrong_types_are_401(
        self, client: httpx.AsyncClient, app: FastAPI, changes: dict[str, object]
    ) -> None:
        tokens: TokenService = app.state.tokens
        registration = await register(client)
        access = resigned(tokens, registration.token, **changes)
        response = await client.get("/v1/whoami/", headers={"Authorization": f"Bearer {access}"})
        assert_problem(response, 401, "INVALID_CREDENTIALS")
        refresh = resigned(tokens, registration.body["refresh_token"], **changes)
        response = await client.post("/v1/login/refresh-token/", json={"refresh_token": refresh})
        assert_problem(response, 401, "INVALID_CREDENTIALS")
