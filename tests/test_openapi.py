"""The OpenAPI document and its interactive page describe every documented endpoint."""

import json
from typing import Any

import httpx
import pytest

DOCUMENTED = {
    "/v1/tenant/models": {"get", "post"},
    "/v1/tenant/models/{tenant_model_id}": {"get", "patch", "delete"},
    "/v1/spaces": {"get", "post"},
    "/v1/spaces/{space_id}": {"get", "patch", "delete"},
    "/v1/spaces/{space_id}/background": {"get", "put", "delete"},
    "/v1/databases/": {"get", "post"},
    "/v1/databases/current/": {"get", "patch", "delete"},
    "/v1/databases/current/status/": {"get"},
}


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in DOCUMENTED.items():
        assert methods <= set(paths[path]), path
    create = paths["/v1/tenant/models"]["post"]
    headers = {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers
    upload = paths["/v1/spaces/{space_id}/background"]["put"]["requestBody"]["content"]
    assert {"image/png", "multipart/form-data"} <= set(upload)


async def test_docs_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text


async def test_errors_are_described_as_the_server_answers_them(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if "422" in responses:  # only a reused Idempotency-Key; validation is 400
                assert "IDEMPOTENCY_KEY_REUSED" in responses["422"]["description"], path
                assert "400" in responses, (method, path)
            for status, response in responses.items():
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], (
                        method,
                        path,
                        status,
                    )
    create = document["paths"]["/v1/spaces"]["post"]["responses"]
    assert create["400"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert "429" in create


async def test_the_problem_schema_matches_a_real_error(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schema = document["components"]["schemas"]["Problem"]
    for response in (
        await client.post("/v1/spaces", json={}),  # anonymous: the template is read-only
        await client.get("/v1/spaces?limit=0"),  # a validation error, with `errors`
    ):
        body = response.json()
        assert body["status"] == response.status_code >= 400
        assert set(schema["required"]) <= set(body)
        assert set(body) <= set(schema["properties"])


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


class TestEveryAnswerIsDocumented:
    """What each route can answer, as the layers it goes through give it (schemathesis'
    status-code and auth checks found these missing)."""

    @pytest.mark.parametrize(
        ("method", "path", "statuses"),
        [
            ("get", "/v1/spaces", {"200", "400", "401", "403", "409", "429", "503"}),
            ("patch", "/v1/spaces/{space_id}", {"404", "409", "413", "415"}),
            ("post", "/v1/tenant/models", {"400", "401", "403", "409", "413", "415", "422"}),
            ("put", "/v1/items/{item_id}/", {"401", "403", "404", "409"}),
            ("post", "/v1/login/individual/", {"400", "401", "413", "415", "429"}),
            ("post", "/v1/login/refresh-token/", {"401", "503"}),
            ("delete", "/v1/api-keys/{key_id}/", {"401", "403", "404"}),
        ],
    )
    async def test_error_statuses(
        self, client: httpx.AsyncClient, method: str, path: str, statuses: set[str]
    ) -> None:
        document = (await client.get("/openapi.json")).json()
        assert statuses <= set(_operation(document, method, path)["responses"])

    @pytest.mark.parametrize(
        ("method", "path", "anonymous"),
        [
            ("get", "/v1/spaces", True),
            ("get", "/v20241104/documents/{document_id}", True),
            ("post", "/v20241104/list-tenant-ids", True),
            ("get", "/v1/whoami/", True),
            ("post", "/v1/spaces", False),
            ("get", "/v1/items/{item_id}/", False),
            ("get", "/v1/databases/current/", False),
            ("post", "/v1/logout/", False),
        ],
    )
    async def test_routes_open_to_anonymous_callers_say_so(
        self, client: httpx.AsyncClient, method: str, path: str, anonymous: bool
    ) -> None:
        document = (await client.get("/openapi.json")).json()
        security = _operation(document, method, path)["security"]
        assert ({} in security) is anonymous
        assert {"X-API-Key": []} in security

    async def test_idempotency_key_is_described_as_checked(self, client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        for path, required in (("/v1/tenant/models", True), ("/v1/spaces", False)):
            (header,) = [
                parameter
                for parameter in _operation(document, "post", path)["parameters"]
                if parameter["name"] == "Idempotency-Key"
            ]
            assert header["required"] is required
            assert header["schema"]["pattern"] == "^[\\x21-\\x7e]{1,255}$"
            assert header["schema"]["type"] == "string"
            assert "x-required" not in header["schema"]

    @pytest.mark.parametrize(
        ("schema", "fields"),
        [
            ("SpaceUpdate", ["name", "metadata"]),
            ("TenantModelUpdate", ["name", "is_enabled", "overrides"]),
            ("DocumentUpdate", ["title", "content", "content_type", "language"]),
        ],
    )
    async def test_fields_that_refuse_null_do_not_offer_it(
        self, client: httpx.AsyncClient, schema: str, fields: list[str]
    ) -> None:
        document = (await client.get("/openapi.json")).json()
        properties = document["components"]["schemas"][schema]["properties"]
        for field in fields:
            assert "null" not in json.dumps(properties[field]), field


async def test_the_multipart_upload_names_its_file(client: httpx.AsyncClient) -> None:
    """A binary string, not a schema nested in a schema (which let any part pass)."""
    document = (await client.get("/openapi.json")).json()
    upload = document["paths"]["/v1/spaces/{space_id}/background"]["put"]["requestBody"]
    form = upload["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"] == {"type": "string", "format": "binary"}
    assert form["required"] == ["file"]
