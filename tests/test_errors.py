"""Every error path answers with the same problem+json body and the right status."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.utils.factories import register
from tests.utils.problems import assert_problem


class TestNotFoundAndMethod:
    async def test_unknown_route(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.get("/no/such/route"), 404, "NOT_FOUND")
        assert body["error_code"] == 60
        assert body["error_name"] == "NotFoundError"
        assert body["instance"] == "/no/such/route"

    async def test_wrong_method(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/healthz")
        assert_problem(response, 405, "METHOD_NOT_ALLOWED")
        assert "GET" in response.headers["allow"]

    @pytest.mark.parametrize(
        ("path", "allowed"),
        [
            ("/v1/spaces", "GET, POST"),
            ("/v1/spaces/7", "GET, PATCH, DELETE"),
            ("/v1/databases/current/", "GET, PATCH, DELETE"),
            ("/v1/items-bulk/", "GET, PUT, PATCH, DELETE"),
            # a literal path is no id of the routes with a parameter it also fits
            ("/v20241104/documents/metadata-schema", "GET"),
            ("/v20241104/documents/browse", "POST"),
            ("/v20241104/documents/doc_1", "GET, POST, DELETE"),
        ],
    )
    async def test_allow_names_every_method_of_the_path(
        self, client: httpx.AsyncClient, path: str, allowed: str
    ) -> None:
        """Not only those of the first route whose path matched (found by schemathesis)."""
        response = await client.request("OPTIONS", path)
        assert_problem(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"] == allowed


class TestValidation:
    async def test_only_fields_in_error_are_listed(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/_probe/widgets", json={"name": "", "count": 3})
        body = assert_problem(response, 400, "VALIDATION_ERROR")
        assert list(body["errors"]) == ["name"]
        assert body["error_code"] == 40
        assert body["error_name"] == "WrongData"

    async def test_several_fields(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/_probe/widgets", json={"name": "x" * 11, "count": "many"})
        body = assert_problem(response, 400, "VALIDATION_ERROR")
        assert set(body["errors"]) == {"name", "count"}
        assert all(isinstance(messages, list) and messages for messages in body["errors"].values())

    async def test_missing_field(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(
            await client.post("/_probe/widgets", json={"name": "a"}), 400, "VALIDATION_ERROR"
        )
        assert body["errors"] == {"count": ["Field required"]}

    async def test_invalid_json(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/_probe/widgets",
            content=b'{"name": "a",',
            headers={"content-type": "application/json"},
        )
        body = assert_problem(response, 400, "VALIDATION_ERROR")
        assert list(body["errors"]) == ["body"]

    async def test_invalid_utf8(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/_probe/widgets",
            content=b'{"name": "\xff\xfe", "count": 1}',
            headers={"content-type": "application/json"},
        )
        assert_problem(response, 400, "VALIDATION_ERROR")

    @pytest.mark.parametrize("body", [b"", b"[]", b"null", b"42", b'"text"'])
    async def test_body_of_the_wrong_shape(self, client: httpx.AsyncClient, body: bytes) -> None:
        response = await client.post(
            "/_probe/widgets", content=body, headers={"content-type": "application/json"}
        )
        assert_problem(response, 400, "VALIDATION_ERROR")

    async def test_deeply_nested_json(self, client: httpx.AsyncClient) -> None:
        nested = "[" * 100_000 + "]" * 100_000
        response = await client.post(
            "/_probe/widgets",
            content=f'{{"name": "a", "count": 1, "note": {nested}}}',
            headers={"content-type": "application/json"},
        )
        assert_problem(response, 400, "VALIDATION_ERROR")

    @pytest.mark.parametrize("limit", ["0", "101", "-5", "abc", "9" * 400])
    async def test_query_out_of_range(self, client: httpx.AsyncClient, limit: str) -> None:
        response = await client.get("/_probe/widgets", params={"limit": limit})
        body = assert_problem(response, 400, "VALIDATION_ERROR")
        assert list(body["errors"]) == ["limit"]

    async def test_valid_request_passes(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/_probe/widgets", json={"name": "ok", "count": 1})
        assert response.status_code == 201
        assert response.json() == {"name": "ok", "count": 1, "note": None}


class TestBodyLimits:
    async def test_declared_length_over_the_limit(
        self, client: httpx.AsyncClient, settings: Any
    ) -> None:
        payload = json.dumps({"name": "a", "count": 1, "note": "x" * settings.max_body_bytes})
        response = await client.post(
            "/_probe/widgets", content=payload, headers={"content-type": "application/json"}
        )
        assert_problem(response, 413, "PAYLOAD_TOO_LARGE")

    async def test_streamed_body_over_the_limit(
        self, client: httpx.AsyncClient, settings: Any
    ) -> None:
        chunk = b"x" * 65536
        chunks = settings.max_body_bytes // len(chunk) + 2

        async def stream() -> AsyncIterator[bytes]:
            yield b'{"name": "a", "count": 1, "note": "'
            for _ in range(chunks):
                yield chunk
            yield b'"}'

        response = await client.post(
            "/_probe/widgets", content=stream(), headers={"content-type": "application/json"}
        )
        assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


class TestMediaType:
    @pytest.mark.parametrize(
        "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
    )
    async def test_non_json_body(self, client: httpx.AsyncClient, content_type: str) -> None:
        response = await client.post(
            "/_probe/widgets",
            content=b'{"name": "a", "count": 1}',
            headers={"content-type": content_type},
        )
        assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")

    async def test_json_with_charset_and_suffix(self, client: httpx.AsyncClient) -> None:
        for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
            response = await client.post(
                "/_probe/widgets",
                content=b'{"name": "a", "count": 1}',
                headers={"content-type": content_type},
            )
            assert response.status_code == 201


class TestUnhandledError:
    async def test_500_hides_the_cause(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        response = await client.get("/_probe/crash")
        body = assert_problem(response, 500, "SERVER_ERROR")
        assert body["error_code"] == 0
        assert body["error_name"] == "ServerError"
        for leak in ("hunter2", "secret", "Traceback", "RuntimeError", "probe.py"):
            assert leak not in response.text
        logged = [r for r in caplog.records if r.name == "tenantry.request" and r.exc_info]
        assert len(logged) == 1
        assert logged[0].fields["request_id"] == body["request_id"]  # type: ignore[attr-defined]
        assert "hunter2" in str(logged[0].exc_info[1])  # type: ignore[index]


class TestRequestId:
    async def test_client_request_id_is_kept(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"x-request-id": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"

    async def test_unsafe_request_id_is_replaced(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"x-request-id": "a b\tc" + "x" * 100})
        assert len(response.headers["x-request-id"]) == 32


class TestErrorDataTheClientReads:
    """The Crossing Minds client formats its messages with `error_data`'s keys: `error` for
    401 and 403, `type` and `key` for 404, `method` for 405."""

    async def test_route_not_found(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.get("/v1/no/such/"), 404, "NOT_FOUND")
        assert body["error_data"] == {
            "name": "NOT_FOUND",
            "type": "route",
            "key": "GET /v1/no/such/",
        }

    async def test_method_not_allowed(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.delete("/healthz"), 405, "METHOD_NOT_ALLOWED")
        assert body["error_data"]["method"] == "DELETE"

    async def test_unauthorized_and_forbidden(self, client: httpx.AsyncClient) -> None:
        body = assert_problem(await client.get("/v1/accounts/"), 401, "AUTHENTICATION_REQUIRED")
        assert body["error_data"]["error"] == body["detail"]
        org = await register(client)
        body = assert_problem(
            await client.get("/v1/accounts/", headers=org.key), 403, "ROLE_FORBIDDEN"
        )
        assert body["error_data"]["error"] == body["detail"]

    async def test_a_resource_not_found_names_its_type(self, client: httpx.AsyncClient) -> None:
        org = await register(client)
        response = await client.patch(
            "/v1/accounts/nope/", headers=org.bearer, json={"role": "backend"}
        )
        body = assert_problem(response, 404, "ACCOUNT_NOT_FOUND")
        assert body["error_data"] == {"name": "ACCOUNT_NOT_FOUND", "type": "account", "key": "nope"}
