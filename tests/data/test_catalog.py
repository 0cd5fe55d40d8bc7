"""Items and users: flexible ids of every family over HTTP, properties, bulk upserts and
pages, errors naming the field, isolation between databases."""

import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.utils.factories import counters, ready_database
from tests.utils.problems import assert_problem

# (id type, ids as sent, the same ids as the API returns them)
FAMILIES = [
    ("uint32", [0, 7, 2**32 - 1], [0, 7, 2**32 - 1]),
    ("uint64", [2**64 - 1, 1], [2**64 - 1, 1]),
    ("int32", [-(2**31), -1, 2**31 - 1], [-(2**31), -1, 2**31 - 1]),
    ("int64", [-(2**63), 0, 2**63 - 1], [-(2**63), 0, 2**63 - 1]),
    (
        "uuid",
        ["6F9619FF-8B86-D011-B42D-00C04FC964FF", "00000000000000000000000000000001"],
        ["6f9619ff-8b86-d011-b42d-00c04fc964ff", "00000000-0000-0000-0000-000000000001"],
    ),
    ("hex16", ["DEADBEEF", "00" * 16], ["deadbeef", "00" * 16]),
    ("urlsafe64", ["Item_1-a", "z" * 64], ["Item_1-a", "z" * 64]),
    ("bytes8", ["AAECAwQFBgc", "_w=="], ["AAECAwQFBgc", "_w"]),
]


def _in_path(value: object) -> str:
    return str(value)


async def declare(
    client: httpx.AsyncClient, key: dict[str, str], kind: str, **value_types: str
) -> None:
    """Declare properties of items or users; `name="unicode[]"` declares a repeated one."""
    for name, value_type in value_types.items():
        body = {
            "property_name": name,
            "value_type": value_type.removesuffix("[]"),
            "repeated": value_type.endswith("[]"),
        }
        response = await client.post(f"/v1/{kind}s-properties/", headers=key, json=body)
        assert response.status_code == 201, response.text


class TestFlexibleIds:
    @pytest.mark.parametrize(("id_type", "sent", "returned"), FAMILIES)
    async def test_round_trip(
        self, client: httpx.AsyncClient, id_type: str, sent: list[Any], returned: list[Any]
    ) -> None:
        key = await ready_database(client, id_type, id_type)
        await declare(client, key, "item", title="unicode")
        await declare(client, key, "user", n="int64")
        for value, canonical in zip(sent, returned, strict=True):
            response = await client.put(
                f"/v1/items/{_in_path(value)}/", headers=key, json={"item": {"title": "t"}}
            )
            assert response.status_code == 204, response.text
            got = await client.get(f"/v1/items/{_in_path(value)}/", headers=key)
            assert got.json() == {"item": {"item_id": canonical, "title": "t"}}
        bulk = [{"user_id": value, "n": n} for n, value in enumerate(sent)]
        response = await client.put("/v1/users-bulk/", headers=key, json={"users": bulk})
        assert response.status_code == 204, response.text
        listed = (await client.get("/v1/users-bulk/", headers=key)).json()
        assert sorted(user["n"] for user in listed["users"]) == list(range(len(sent)))
        assert {user["user_id"] for user in listed["users"]} == set(returned)
        for user in listed["users"]:
            one = await client.get(f"/v1/users/{_in_path(user['user_id'])}/", headers=key)
            assert one.json() == {"user": user}

    async def test_integers_are_listed_in_numeric_order(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, "int64", "int64")
        values = [5, -3, 0, 2**40, -(2**40), 1]
        rows = [{"item_id": value} for value in values]
        assert (await client.put("/v1/items-bulk/", headers=key, json={"items": rows})).is_success
        listed = (await client.get("/v1/items-bulk/", headers=key)).json()
        assert [item["item_id"] for item in listed["items"]] == sorted(values)

    @pytest.mark.parametrize(
        ("id_type", "bad"),
        [
            ("uint32", "-1"),
            ("uint32", "4294967296"),
            ("int32", "1.5"),
            ("uuid", "not-a-uuid"),
            ("hex8", "abc"),
            ("hex8", "ab" * 9),
            ("urlsafe8", "abcdefghi"),
            ("urlsafe8", "a.b"),
            ("bytes4", "AAAAAAAA"),
            ("bytes4", "AB"),
        ],
    )
    async def test_wrong_id_in_path_is_400_naming_it(
        self, client: httpx.AsyncClient, id_type: str, bad: str
    ) -> None:
        key = await ready_database(client, id_type, id_type)
        for method in ("PUT", "GET", "DELETE"):
            body: dict[str, Any] | None = {"item": {}} if method == "PUT" else None
            response = await client.request(method, f"/v1/items/{bad}/", headers=key, json=body)
            problem = assert_problem(response, 400, "VALIDATION_ERROR")
            assert list(problem["errors"]) == ["item_id"]
            assert id_type in problem["errors"]["item_id"][0]
        response = await client.get(f"/v1/users/{bad}/", headers=key)
        assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == ["user_id"]

    async def test_wrong_ids_in_a_bulk_body_are_named(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, "uuid", "uint32")
        await declare(client, key, "item", title="unicode")
        rows = [{"item_id": str(uuid.uuid4())}, {"item_id": 12}, {"title": "no id"}]
        response = await client.put("/v1/items-bulk/", headers=key, json={"items": rows})
        problem = assert_problem(response, 400, "VALIDATION_ERROR")
        assert set(problem["errors"]) == {"items.1.item_id", "items.2.item_id"}
        listed = await client.get("/v1/items-bulk/", headers=key)
        assert listed.json()["items"] == []

    async def test_a_spaced_hex_id_is_not_another_id(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, "hex8", "hex8")
        await declare(client, key, "item", n="int64")
        response = await client.put("/v1/items/abcd/", headers=key, json={"item": {"n": 1}})
        assert response.status_code == 204, response.text
        response = await client.get("/v1/items/ab%20%20cd/", headers=key)
        assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == ["item_id"]
        rows = [{"item_id": "ab\tcd\n", "n": 2}]
        response = await client.put("/v1/items-bulk/", headers=key, json={"items": rows})
        problem = assert_problem(response, 400, "VALIDATION_ERROR")
        assert list(problem["errors"]) == ["items.0.item_id"]
        got = await client.get("/v1/items/abcd/", headers=key)
        assert got.json() == {"item": {"item_id": "abcd", "n": 1}}

    @pytest.mark.parametrize(
        ("id_type", "bad"),
        [
            ("uint32", "+7"),
            ("uint32", "-0"),
            ("uint32", "1_000"),
            ("uint32", "\u0665"),
            ("int64", " 7"),
            ("int64", "7\n"),
            ("uuid", "{6f9619ff-8b86-d011-b42d-00c04fc964ff}"),
            ("uuid", " 6f9619ff-8b86-d011-b42d-00c04fc964ff"),
            ("hex8", "ab\u3000cd"),
            ("urlsafe8", "ab\u00a0"),
            ("bytes8", "AA="),
            ("bytes8", "A A"),
        ],
    )
    async def test_lenient_spellings_are_400_naming_the_field(
        self, client: httpx.AsyncClient, id_type: str, bad: str
    ) -> None:
        key = await ready_database(client, id_type, id_type)
        response = await client.get(f"/v1/items/{quote(bad, safe='')}/", headers=key)
        assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == ["item_id"]
        rows = [{"user_id": bad}]
        response = await client.put("/v1/users-bulk/", headers=key, json={"users": rows})
        problem = assert_problem(response, 400, "VALIDATION_ERROR")
        assert list(problem["errors"]) == ["users.0.user_id"]
        assert (await client.get("/v1/users-bulk/", headers=key)).json()["users"] == []


class TestItemsAndUsers:
    async def test_put_replaces_the_properties(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        await declare(client, key, "item", a="int64", tags="unicode[]", b="unicode")
        item = "/v1/items/1/"
        await client.put(item, headers=key, json={"item": {"a": 1, "tags": ["x"]}})
        await client.put(item, headers=key, json={"item": {"b": "c", "a": None}})
        assert (await client.get(item, headers=key)).json() == {"item": {"item_id": 1, "b": "c"}}
        assert (await client.get("/v1/items/1", headers=key)).status_code == 200

    async def test_missing_and_deleted(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        problem = assert_problem(
            await client.get("/v1/users/9/", headers=key), 404, "USER_NOT_FOUND"
        )
        assert problem["error_code"] == 60
        assert problem["error_data"] == {"name": "USER_NOT_FOUND", "type": "user", "key": 9}
        assert problem["message"] == "The user 9 does not exist"
        await client.put("/v1/users/9/", headers=key, json={"user": {}})
        assert (await client.delete("/v1/users/9/", headers=key)).status_code == 204
        assert_problem(await client.delete("/v1/users/9/", headers=key), 404, "USER_NOT_FOUND")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"item": {"item_id": 1}}, "item.item_id"),
            ({"item": []}, "item"),
            ({}, "item"),
            ({"item": {}, "colour": 1}, "colour"),
        ],
    )
    async def test_bad_bodies(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        key = await ready_database(client)
        response = await client.put("/v1/items/1/", headers=key, json=body)
        assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == [field]

    async def test_bulk_upsert_last_row_wins_and_pages(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        await declare(client, key, "item", n="int64")
        rows = [{"item_id": n, "n": n} for n in range(250)] + [{"item_id": 3, "n": -1}]
        response = await client.put(
            "/v1/items-bulk/", headers=key, json={"items": rows, "wait_for_completion": True}
        )
        assert response.status_code == 204, response.text
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"amt": 100} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/v1/items-bulk/", headers=key, params=params)).json()
            seen += page["items"]
            if not page["has_next"]:
                assert page["next_cursor"] is None
                break
            cursor = page["next_cursor"]
        assert [item["item_id"] for item in seen] == list(range(250))
        assert seen[3] == {"item_id": 3, "n": -1}
        assert (await counters(client, key))["item"] == 250

    async def test_repeated_properties_of_the_clients(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        await declare(client, key, "user", age="uint8", tags="unicode8[]")
        body = {
            "users": [{"user_id": 1}, {"user_id": 2, "age": 3}],
            "users_m2m": [
                {
                    "name": "tags",
                    "array": [
                        {"user_index": 1, "value_id": "a"},
                        {"user_index": 1, "value_id": "b"},
                    ],
                }
            ],
        }
        assert (await client.put("/v1/users-bulk/", headers=key, json=body)).status_code == 204
        user = (await client.get("/v1/users/2/", headers=key)).json()
        assert user == {"user": {"user_id": 2, "age": 3, "tags": ["a", "b"]}}
        body["users_m2m"][0]["array"][0]["user_index"] = 2  # type: ignore[index]
        response = await client.put("/v1/users-bulk/", headers=key, json=body)
        problem = assert_problem(response, 400, "VALIDATION_ERROR")
        assert list(problem["errors"]) == ["users_m2m.0.array.0.user_index"]

    async def test_bulk_limits(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        assert (await client.put("/v1/items-bulk/", headers=key, json={"items": []})).is_success
        rows = [{"item_id": n} for n in range(10_001)]
        response = await client.put("/v1/items-bulk/", headers=key, json={"items": rows})
        assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == ["items"]
        bad_cursor = await client.get("/v1/items-bulk/?cursor=abc", headers=key)
        assert_problem(bad_cursor, 400, "INVALID_CURSOR")
        assert_problem(
            await client.get("/v1/items-bulk/?amt=0", headers=key), 400, "VALIDATION_ERROR"
        )

    async def test_bulk_bodies_may_pass_the_general_limit(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, "urlsafe64")
        await declare(client, key, "item", text="unicode")
        rows = [{"item_id": f"item-{n}", "text": "x" * 200} for n in range(10_000)]
        response = await client.put("/v1/items-bulk/", headers=key, json={"items": rows})
        assert response.status_code == 204, response.text
        assert (await counters(client, key))["item"] == 10_000
        big = {"item": {"text": "x" * (2 * 1024 * 1024)}}
        assert_problem(
            await client.put("/v1/items/a/", headers=key, json=big), 413, "PAYLOAD_TOO_LARGE"
        )


class TestAccess:
    async def test_another_database_never_sees_them(self, client: httpx.AsyncClient) -> None:
        mine, theirs = await ready_database(client), await ready_database(client)
        await declare(client, mine, "item", secret="bool")
        await client.put("/v1/items/1/", headers=mine, json={"item": {"secret": True}})
        await client.put("/v1/users/1/", headers=mine, json={"user": {}})
        assert_problem(await client.get("/v1/items/1/", headers=theirs), 404, "ITEM_NOT_FOUND")
        assert (await client.get("/v1/items-bulk/", headers=theirs)).json()["items"] == []
        assert (await counters(client, theirs)) == {"rating": 0, "user": 0, "item": 0}
        assert (await counters(client, mine)) == {"rating": 0, "user": 1, "item": 1}

    async def test_the_frontend_role_reads_only(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, role="frontend")
        response = await client.put("/v1/items/1/", headers=key, json={"item": {}})
        assert_problem(response, 403, "ROLE_FORBIDDEN")
        assert_problem(await client.get("/v1/items/1/", headers=key), 404, "ITEM_NOT_FOUND")

    async def test_no_credentials(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/v1/items/1/"), 401, "AUTHENTICATION_REQUIRED")
