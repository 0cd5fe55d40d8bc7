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
