"""The OpenAPI document and its interactive page describe every documented endpoint."""

import httpx

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
            assert "422" not in responses, (method, path)
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
