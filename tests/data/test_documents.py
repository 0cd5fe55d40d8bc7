"""Documents and list-tenant-ids: the fields and their limits, partial updates with merged
metadata, duplicate ids, browsing, the distinct tenant ids kept by triggers, livemode and
isolation between databases."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.data.documents.endpoints import list_tenant_ids
from tests.utils.factories import (
    DOCUMENTS,
    Registration,
    add_document,
    idempotent,
    login_to,
    ready_org,
    wait_for_status,
)
from tests.utils.hot import Served
from tests.utils.problems import assert_problem
from tests.utils.sql import schema_of

TENANT_IDS = "/v20241104/list-tenant-ids"


async def tenant_ids(client: httpx.AsyncClient, key: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post(TENANT_IDS, headers=key, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def every_tenant_id(client: httpx.AsyncClient, key: dict[str, str], limit: int) -> list[str]:
    """Every value, following `next_after` as the documentation says."""
    seen: list[str] = []
    body: dict[str, Any] = {"limit": limit}
    while True:
        page = await tenant_ids(client, key, **body)
        seen += page["data"]
        if not page["has_more"]:
            assert page["next_after"] is None
            return seen
        body["after"] = page["next_after"]


class TestDocuments:
    async def test_add_get_update_delete(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        document = await add_document(
            client,
            key,
            title="Hello",
            content="# Hi",
            content_type="markdown",
            metadata={"a": 1, "b": {"c": "d"}},
            source_uri="https://example.com/hello",
            tenant_id="tenant123",
        )
        assert document["object"] == "document"
        assert document["livemode"] is False
        assert document["language"] == "en"
        assert len(document["id"]) == 22
        url = f"{DOCUMENTS}/{document['id']}"
        assert (await client.get(url, headers=key)).json() == document

        changed = await client.post(
            url, headers=key, json={"title": "Bye", "metadata": {"a": None, "e": 5}}
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["title"] == "Bye"
        assert body["content"] == "# Hi"  # not sent, not changed
        assert body["metadata"] == {"b": {"c": "d"}, "e": 5}
        assert body["updated_at"] >= document["updated_at"]

        cleared = await client.post(url, headers=key, json={"metadata": None, "tenant_id": None})
        assert cleared.json()["metadata"] == {}
        assert cleared.json()["tenant_id"] is None

        deleted = await client.delete(url, headers=key)
        assert deleted.status_code == 200
        assert deleted.json() == {
            "object": "document",
            "id": document["id"],
            "deleted": True,
            "livemode": False,
        }
        assert_problem(await client.get(url, headers=key), 404, "DOCUMENT_NOT_FOUND")
        assert_problem(await client.delete(url, headers=key), 404, "DOCUMENT_NOT_FOUND")

    async def test_a_chosen_id_and_created_at(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        document = await add_document(client, key, id="My_doc-1", created_at="2024-11-04T10:00:00Z")
        assert document["id"] == "My_doc-1"
        assert document["created_at"].startswith("2024-11-04T10:00:00")

    async def test_a_duplicate_id_is_409_and_changes_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        _, key = await ready_org(client)
        await add_document(client, key, id="same", title="first")
        response = await client.post(DOCUMENTS, headers=key, json={"id": "same", "title": "2"})
        assert_problem(response, 409, "DUPLICATED_DOCUMENT_ID")
        assert (await client.get(f"{DOCUMENTS}/same", headers=key)).json()["title"] == "first"

    async def test_an_idempotency_key_replays(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        headers = idempotent(key)
        first = await client.post(DOCUMENTS, headers=headers, json={"title": "once"})
        again = await client.post(DOCUMENTS, headers=headers, json={"title": "once"})
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"title": ""},
            {"title": "x" * 251},
            {"title": "t", "content": "x" * (100 * 1024 + 1)},
            {"title": "t", "content": "é" * 51_201},  # 102,402 bytes of UTF-8
            {"title": "t", "content_type": "pdf"},
            {"title": "t", "id": "has space"},
            {"title": "t", "id": "x" * 129},
            {"title": "t", "id": "browse"},
            {"title": "t", "metadata": {f"k{n}": n for n in range(101)}},
            {"title": "t", "metadata": {"k" * 51: 1}},
            {"title": "t", "metadata": {"k": "v" * 501}},
            {"title": "t", "metadata": {"k": {"deep": "v" * 501}}},
            {"title": "t", "metadata": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}},
            {"title": "t", "metadata": []},
            {"title": "t", "source_uri": "u" * 1001},
            {"title": "t", "tenant_id": ""},
            {"title": "t", "tenant_id": "x" * 251},
            {"title": "t", "created_at": "yesterday"},
            {"title": "t", "unknown": 1},
        ],
    )
    async def test_bad_fields_are_400_and_add_nothing(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        _, key = await ready_org(client)
        assert_problem(
            await client.post(DOCUMENTS, headers=key, json=body), 400, "VALIDATION_ERROR"
        )
        page = (await client.post(f"{DOCUMENTS}/browse", headers=key, json={})).json()
        assert page["data"] == []

    async def test_update_refuses_null_for_required_fields(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        document = await add_document(client, key, title="kept")
        url = f"{DOCUMENTS}/{document['id']}"
        for field in ("title", "content", "content_type", "language"):
            response = await client.post(url, headers=key, json={field: None})
            assert_problem(response, 400, "VALIDATION_ERROR")
        assert_problem(
            await client.post(url, headers=key, json={"id": "x"}), 400, "VALIDATION_ERROR"
        )
        assert (await client.get(url, headers=key)).json() == document

    async def test_an_invalid_id_in_the_path_is_400(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        response = await client.get(f"{DOCUMENTS}/bad%20id", headers=key)
        assert_problem(response, 400, "VALIDATION_ERROR")

    async def test_browse_pages_and_filters(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        for n in range(5):
            await add_document(client, key, id=f"d{n}", tenant_id="a" if n % 2 else "b")
        browse = f"{DOCUMENTS}/browse"
        first = (await client.post(browse, headers=key, json={"limit": 2})).json()
        assert [d["id"] for d in first["data"]] == ["d0", "d1"]
        assert first["has_more"] is True
        assert first["next_page"] == 2
        last = (await client.post(browse, headers=key, json={"limit": 2, "page": 3})).json()
        assert [d["id"] for d in last["data"]] == ["d4"]
        assert last["has_more"] is False
        assert last["next_page"] is None
        only_a = (await client.post(browse, headers=key, json={"tenant_id": ["a"]})).json()
        assert [d["id"] for d in only_a["data"]] == ["d1", "d3"]
        bad = await client.post(browse, headers=key, json={"tenant_id": []})
        assert_problem(bad, 400, "VALIDATION_ERROR")

    async def test_frontend_and_anonymous_callers_cannot_write(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(DOCUMENTS, json={"title": "t"})
        assert response.status_code in {401, 403}
        assert response.headers["content-type"] == "application/problem+json"


class TestListTenantIds:
    async def test_the_documented_envelope(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        for tenant in ["tenant223", "tenant123", "tenant345", "tenant456", "tenant567"] * 2:
            await add_document(client, key, tenant_id=tenant)
        await add_document(client, key, tenant_id="tenant678")
        await add_document(client, key, tenant_id="tenant789")
        await add_document(client, key)  # no tenant_id: not listed
        page = await tenant_ids(client, key, limit=5)
        assert page == {
            "object": "list_tenant_ids_result",
            "url": "/v20241104/list-tenant-ids",
            "data": ["tenant123", "tenant223", "tenant345", "tenant456", "tenant567"],
            "has_more": True,
            "next_after": "tenant567",
            "limit": 5,
            "after": None,
            "total_number_of_results": 7,
            "livemode": False,
        }
        rest = await tenant_ids(client, key, limit=5, after="tenant567")
        assert rest["data"] == ["tenant678", "tenant789"]
        assert rest["has_more"] is False
        assert rest["after"] == "tenant567"
        assert (await tenant_ids(client, key))["limit"] == 10

    async def test_a_body_is_required(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        assert_problem(await client.post(TENANT_IDS, headers=key), 400, "VALIDATION_ERROR")
        for body in ({"limit": 0}, {"limit": 101}, {"after": ""}, {"after": "x" * 251}):
            response = await client.post(TENANT_IDS, headers=key, json=body)
            assert_problem(response, 400, "VALIDATION_ERROR")

    async def test_every_value_once_whatever_the_writes(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        org, key = await ready_org(client)
        # byte order, not a language's: upper case before lower, accents last
        values = ["b", "B", "a", "ä", "a b", "Z", "é", "-", "0", "zz", "z"]
        ids = [(await add_document(client, key, tenant_id=value))["id"] for value in values]
        await add_document(client, key, tenant_id="a")  # a second document of "a"
        assert await every_tenant_id(client, key, limit=3) == sorted(
            values, key=lambda v: v.encode()
        )
        # deleting one of two documents of "a" keeps it; moving "b"'s only one drops "b"
        await client.delete(f"{DOCUMENTS}/{ids[2]}", headers=key)
        await client.post(f"{DOCUMENTS}/{ids[0]}", headers=key, json={"tenant_id": "new"})
        expected = sorted(({*values} - {"b"}) | {"new"}, key=lambda v: v.encode())
        assert await every_tenant_id(client, key, limit=4) == expected
        assert (await tenant_ids(client, key))["total_number_of_results"] == len(expected)
        await _check_counts(engine, org)

    async def test_bulk_sql_writes_keep_the_counts(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        org, key = await ready_org(client)
        schema = await schema_of(engine, org.database_id)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    f'INSERT INTO "{schema}".documents (id, title, content_type, language, '
                    "tenant_id) SELECT 'd' || n, 't', 'plaintext', 'en', 't' || (n % 37) "
                    "FROM generate_series(1, 2000) AS n"
                )
            )
            await connection.execute(
                text(f"DELETE FROM \"{schema}\".documents WHERE tenant_id = 't1'")
            )
            await connection.execute(
                text(f"UPDATE \"{schema}\".documents SET tenant_id = NULL WHERE tenant_id = 't2'")
            )
        result = await tenant_ids(client, key, limit=100)
        assert result["total_number_of_results"] == 35
        assert len(result["data"]) == 35
        await _check_counts(engine, org)

    @pytest.mark.parametrize("with_key", [True, False], ids=["key", "anonymous"])
    async def test_a_nul_in_after_is_refused(
        self, client: httpx.AsyncClient, with_key: bool
    ) -> None:
        """PostgreSQL cannot take a NUL in text: 400, not the 500 schemathesis found (the
        driver's error came straight through, not wrapped by SQLAlchemy)."""
        key = (await ready_org(client))[1] if with_key else {}
        response = await client.post(TENANT_IDS, headers=key, json={"after": "a\u0000b"})
        assert_problem(response, 400, "UNSTORABLE_VALUE")

    async def test_databases_see_only_their_own(self, client: httpx.AsyncClient) -> None:
        (_, first), (_, second) = await ready_org(client), await ready_org(client)
        await add_document(client, first, tenant_id="mine", id="private")
        assert (await tenant_ids(client, second))["data"] == []
        response = await client.get(f"{DOCUMENTS}/private", headers=second)
        assert_problem(response, 404, "DOCUMENT_NOT_FOUND")


class TestLivemode:
    async def test_a_live_database_answers_livemode_true(self, client: httpx.AsyncClient) -> None:
        org, key = await ready_org(client)
        response = await client.post(
            "/v1/databases/",
            headers=org.bearer,
            json={"name": "live", "item_id_type": "uuid", "user_id_type": "uuid", "livemode": True},
        )
        assert response.status_code == 201, response.text
        token = await login_to(client, org.email, response.json()["id"])
        await wait_for_status(client, token)
        assert (await client.get("/v1/databases/current/", headers=token)).json()["livemode"]
        created = await client.post("/v1/api-keys/", headers=token, json={"role": "backend"})
        assert created.status_code == 201, created.text
        assert created.json()["livemode"] is True
        live = {"X-API-Key": created.json()["key"]}
        document = await add_document(client, live, tenant_id="x")
        assert document["livemode"] is True
        assert (await tenant_ids(client, live))["livemode"] is True
        assert (await tenant_ids(client, token))["livemode"] is True
        # the test database's key sees none of the live data
        assert (await tenant_ids(client, key))["data"] == []


async def _check_counts(engine: AsyncEngine, org: Registration) -> None:
    """The kept table equals what a scan of the documents finds."""
    schema = await schema_of(engine, org.database_id)
    async with engine.connect() as connection:
        kept = await connection.execute(
            text(f'SELECT tenant_id, documents FROM "{schema}".document_tenant_ids ORDER BY 1')
        )
        scanned = await connection.execute(
            text(
                f'SELECT tenant_id, count(*) FROM "{schema}".documents '
                "WHERE tenant_id IS NOT NULL GROUP BY 1 ORDER BY 1"
            )
        )
        assert kept.all() == scanned.all()
        total = await connection.scalar(
            text(f"SELECT sum(value) FROM \"{schema}\".counters WHERE name = 'tenant_ids'")
        )
        count = await connection.scalar(
            text(f'SELECT count(DISTINCT tenant_id) FROM "{schema}".documents')
        )
        assert (total or 0) == count


class TestHotListTenantIds:
    """list-tenant-ids with one API key is answered before the framework; the answers are
    the same, and whatever is not plainly valid is left to the application."""

    async def test_same_answers(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        org, key = await ready_org(client)
        for value in ("a", "b", "c"):
            await add_document(client, key, tenant_id=value)
        bearer = await login_to(client, org.email, org.database_id)
        served = Served(app, list_tenant_ids)
        for body in ({}, {"limit": 2}, {"limit": 2, "after": "a"}, {"after": None}):
            hot = await client.post(TENANT_IDS, headers=key, json=body)
            full = await client.post(TENANT_IDS, headers=bearer, json=body)
            assert hot.status_code == full.status_code == 200
            assert hot.content == full.content
        assert served.count == 4

    @pytest.mark.parametrize(
        ("content", "content_type", "status"),
        [
            (b"", "application/json", 400),
            (b"{", "application/json", 400),
            (b"\xff", "application/json", 400),
            (b"[]", "application/json", 400),
            (b'{"limit": 0}', "application/json", 400),
            (b'{"after": ""}', "application/json", 400),
            (b'{"after": 5}', "application/json", 400),
            (b'{"other": 1}', "application/json", 400),
            (b"{}", "text/plain", 415),
        ],
    )
    async def test_left_to_the_application(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        content: bytes,
        content_type: str,
        status: int,
    ) -> None:
        _, key = await ready_org(client)
        served = Served(app, list_tenant_ids)
        headers = key | {"Content-Type": content_type}
        response = await client.post(TENANT_IDS, headers=headers, content=content)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert served.count == 0

    @pytest.mark.parametrize(
        "content",
        [b'{"limit": true}', b'{"limit": "2"}'],  # the application's lax reading: 1, 2
    )
    async def test_lax_readings_answer_as_the_application(
        self, client: httpx.AsyncClient, app: FastAPI, content: bytes
    ) -> None:
        org, key = await ready_org(client)
        bearer = await login_to(client, org.email, org.database_id)
        served = Served(app, list_tenant_ids)
        json_body = {"Content-Type": "application/json"}
        hot = await client.post(TENANT_IDS, headers=key | json_body, content=content)
        full = await client.post(TENANT_IDS, headers=bearer | json_body, content=content)
        assert hot.status_code == full.status_code == 200
        assert hot.content == full.content
        assert served.count == 1
