"""Declared item and user properties, the Crossing Minds 0.7 paths beside 0.6's, partial
updates, lists by id, deletes that keep ratings, and the lists' query parameters. Every
refused write is a 400 naming the field, and writes nothing."""

from typing import Any

import httpx
import pytest

from tests.utils.factories import add_to_catalog, counters, ready_database
from tests.utils.problems import assert_problem

ITEMS_07, ITEMS_06 = "/v1/items-bulk/properties/", "/v1/items-bulk/"


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


async def shop(client: httpx.AsyncClient) -> dict[str, str]:
    """A database whose items have a price, a title, tags and an in-stock flag."""
    key = await ready_database(client)
    await declare(
        client, key, "item", price="float32", title="unicode8", tags="unicode8[]", stock="bool"
    )
    await declare(client, key, "user", age="uint8")
    return key


async def items(client: httpx.AsyncClient, key: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await client.get(ITEMS_07, headers=key)).json()["items"]
    return found


class TestDeclarations:
    async def test_create_get_list_delete(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        body = {"property_name": "age", "value_type": "uint8", "repeated": False, "indexed": True}
        created = await client.post("/v1/users-properties/", headers=key, json=body)
        assert created.status_code == 201
        assert created.json() == body
        assert (await client.get("/v1/users-properties/age/", headers=key)).json() == body
        listed = await client.get("/v1/users-properties/", headers=key)
        assert listed.json() == {"properties": [body]}
        await declare(client, key, "item", tags="unicode16[]", a_price="float")
        names = (await client.get("/v1/items-properties/", headers=key)).json()["properties"]
        assert [p["property_name"] for p in names] == ["a_price", "tags"]
        assert names[1] == {
            "property_name": "tags",
            "value_type": "unicode16",
            "repeated": True,
            "indexed": False,
        }
        assert (await client.delete("/v1/users-properties/age/", headers=key)).status_code == 204
        gone = await client.get("/v1/users-properties/age/", headers=key)
        problem = assert_problem(gone, 404, "PROPERTY_NOT_FOUND")
        assert problem["error_data"] == {
            "name": "PROPERTY_NOT_FOUND",
            "type": "user_property",
            "key": "age",
        }
        again = await client.delete("/v1/users-properties/age/", headers=key)
        assert_problem(again, 404, "PROPERTY_NOT_FOUND")

    async def test_a_name_is_declared_once(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client)
        await declare(client, key, "item", price="float32")
        body = {"property_name": "price", "value_type": "int8"}
        response = await client.post("/v1/items-properties/", headers=key, json=body)
        assert assert_problem(response, 409, "DUPLICATED_PROPERTY")["error_code"] == 42
        got = (await client.get("/v1/items-properties/price/", headers=key)).json()
        assert got["value_type"] == "float32"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"property_name": "x", "value_type": "decimal"}, "value_type"),
            ({"property_name": "x", "value_type": "unicode0"}, "value_type"),
            ({"property_name": "x", "value_type": "unicode65537"}, "value_type"),
            ({"property_name": "x", "value_type": "hex65"}, "value_type"),
            ({"property_name": "a b", "value_type": "bool"}, "property_name"),
            ({"property_name": "", "value_type": "bool"}, "property_name"),
            ({"property_name": "x" * 65, "value_type": "bool"}, "property_name"),
            ({"property_name": "item_id", "value_type": "bool"}, "property_name"),
            ({"property_name": "x", "value_type": "bool", "repeated": [1]}, "repeated"),
            ({"property_name": "x", "value_type": "bool", "colour": 1}, "colour"),
        ],
    )
    async def test_bad_declarations(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        key = await ready_database(client)
        response = await client.post("/v1/items-properties/", headers=key, json=body)
        assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == [field]
        assert (await client.get("/v1/items-properties/", headers=key)).json() == {"properties": []}

    async def test_deleting_a_property_removes_its_values(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        rows = [{"item_id": 1, "price": 2.5, "title": "a"}, {"item_id": 2, "price": 1}]
        assert (await client.put(ITEMS_07, headers=key, json={"items": rows})).status_code == 204
        assert (await client.delete("/v1/items-properties/price/", headers=key)).status_code == 204
        assert await items(client, key) == [{"item_id": 1, "title": "a"}, {"item_id": 2}]
        await declare(client, key, "item", price="unicode8")
        response = await client.put(
            "/v1/items/2/properties/", headers=key, json={"item": {"price": "cheap"}}
        )
        assert response.status_code == 204

    async def test_roles_and_credentials(self, client: httpx.AsyncClient) -> None:
        key = await ready_database(client, role="frontend")
        body = {"property_name": "x", "value_type": "bool"}
        response = await client.post("/v1/items-properties/", headers=key, json=body)
        assert_problem(response, 403, "ROLE_FORBIDDEN")
        assert (await client.get("/v1/items-properties/", headers=key)).status_code == 200
        anonymous = await client.get("/v1/items-properties/")
        assert_problem(anonymous, 401, "AUTHENTICATION_REQUIRED")


class TestValueTypes:
    @pytest.mark.parametrize(
        ("value_type", "good", "bad"),
        [
            ("int8", [-128, 127], [128, -129, 1.5, 2.0, True, "1"]),
            ("uint8", [0, 255], [-1, 256]),
            ("int64", [-(2**63), 2**63 - 1], [2**63]),
            ("uint64", [2**64 - 1], [2**64, -1]),
            ("float16", [65504, -1.5, 0], [65505.0, "1", False]),
            ("float32", [3.4e38, 1e-40], [3.5e38]),
            ("float64", [1e308, 7], ["x", [1]]),
            ("bool", [True, False], [0, 1, "true"]),
            ("unicode3", ["", "abc", "été"], ["abcd", 3]),
            ("str", ["x" * 10_000], [1]),
            ("uuid", ["6f9619ff-8b86-d011-b42d-00c04fc964ff"], ["nope", 3]),
            ("hex4", ["abcd"], ["abc", "xyz0"]),
        ],
    )
    async def test_values_are_checked_against_their_type(
        self, client: httpx.AsyncClient, value_type: str, good: list[Any], bad: list[Any]
    ) -> None:
        key = await ready_database(client)
        await declare(client, key, "item", v=value_type)
        for value in good:
            response = await client.put(
                "/v1/items/1/properties/", headers=key, json={"item": {"v": value}}
            )
            assert response.status_code == 204, (value, response.text)
        before = await items(client, key)
        for value in bad:
            response = await client.put(
                "/v1/items/1/properties/", headers=key, json={"item": {"v": value}}
            )
            problem = assert_problem(response, 400, "VALIDATION_ERROR")
            assert list(problem["errors"]) == ["item.v"], value
        assert await items(client, key) == before

    async def test_ids_are_kept_in_their_canonical_spelling(
        self, client: httpx.AsyncClient
    ) -> None:
        key = await ready_database(client)
        await declare(client, key, "item", ref="uuid", refs="hex4[]")
        body = {"item": {"ref": "6F9619FF8B86D011B42D00C04FC964FF", "refs": ["ABCD", "00"]}}
        assert (await client.put("/v1/items/1/", headers=key, json=body)).status_code == 204
        got = (await client.get("/v1/items/1/", headers=key)).json()["item"]
        assert got["ref"] == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
        assert got["refs"] == ["abcd", "00"]

    async def test_repeated_and_single_values(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        cases = [
            ({"tags": "a"}, "item.tags"),
            ({"tags": ["a", 1]}, "item.tags.1"),
            ({"tags": ["a", None]}, "item.tags.1"),
            ({"title": ["a"]}, "item.title"),
            ({"colour": "red"}, "item.colour"),
        ]
        for properties, field in cases:
            response = await client.put("/v1/items/1/", headers=key, json={"item": properties})
            assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == [field]
        assert await items(client, key) == []
        body: dict[str, Any] = {"item": {"tags": [], "title": None, "price": 1}}
        assert (await client.put("/v1/items/1/", headers=key, json=body)).status_code == 204
        assert await items(client, key) == [{"item_id": 1, "tags": [], "price": 1}]


class TestEveryWritePathChecks:
    """An undeclared property or a wrong value, on each write path: 400 naming it, and
    nothing written."""

    @pytest.mark.parametrize(
        ("method", "path", "body", "field"),
        [
            ("PUT", "/v1/items/5/properties/", {"item": {"price": "x"}}, "item.price"),
            ("PUT", "/v1/items/5/", {"item": {"nope": 1}}, "item.nope"),
            ("PATCH", "/v1/items/1/properties/", {"item": {"stock": 1}}, "item.stock"),
            ("PATCH", "/v1/items/1/", {"item": {"nope": 1}}, "item.nope"),
            (
                "PUT",
                ITEMS_07,
                {"items": [{"item_id": 5}, {"item_id": 6, "title": "too long!"}]},
                "items.1.title",
            ),
            ("PUT", ITEMS_06, {"items": [{"item_id": 5, "nope": 1}]}, "items.0.nope"),
            (
                "PATCH",
                ITEMS_07,
                {"items": [{"item_id": 1, "price": 1}, {"item_id": 5, "tags": "a"}]},
                "items.1.tags",
            ),
            ("PATCH", ITEMS_06, {"items": [{"item_id": 1, "nope": 1}]}, "items.0.nope"),
            (
                "PUT",
                ITEMS_07,
                {
                    "items": [{"item_id": 5}],
                    "items_m2m": [{"name": "tags", "array": [{"item_index": 0, "value_id": 7}]}],
                },
                "items_m2m.0.array.0.value_id",
            ),
            (
                "PATCH",
                ITEMS_07,
                {
                    "items": [{"item_id": 1}],
                    "items_m2m": [{"name": "title", "array": [{"item_index": 0, "value_id": "a"}]}],
                },
                "items_m2m.0.name",
            ),
            (
                "PATCH",
                "/v1/users-bulk/properties/",
                {"users": [{"user_id": 1, "age": 256}], "create_if_missing": True},
                "users.0.age",
            ),
            ("PUT", "/v1/users/1/properties/", {"user": {"age": -1}}, "user.age"),
        ],
    )
    async def test_refused_whole(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: dict[str, Any],
        field: str,
    ) -> None:
        key = await shop(client)
        first = {"item_id": 1, "price": 9.5, "tags": ["x"], "stock": True}
        assert (await client.put(ITEMS_07, headers=key, json={"items": [first]})).is_success
        response = await client.request(method, path, headers=key, json=body)
        assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == [field]
        assert await items(client, key) == [first]
        assert (await counters(client, key))["user"] == 0

    async def test_a_bulk_call_names_every_field_in_error(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        rows = [{"item_id": n, "price": "x"} for n in range(50)]
        response = await client.put(ITEMS_07, headers=key, json={"items": rows})
        errors = assert_problem(response, 400, "VALIDATION_ERROR")["errors"]
        assert len(errors) == 20
        assert "items.0.price" in errors


class TestPaths:
    async def test_07_and_06_paths_are_the_same_resource(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        body = {"item": {"title": "a", "tags": ["x", "y"]}}
        assert (await client.put("/v1/items/1/properties/", headers=key, json=body)).is_success
        expected = {"item": {"item_id": 1, "title": "a", "tags": ["x", "y"]}}
        assert (await client.get("/v1/items/1/", headers=key)).json() == expected
        assert (await client.get("/v1/items/1/properties/", headers=key)).json() == expected
        assert (await client.get("/v1/items/1/properties", headers=key)).status_code == 200
        page = (await client.get(ITEMS_07, headers=key)).json()
        assert page == {
            "items": [expected["item"]],
            "items_m2m": [],
            "has_next": False,
            "next_cursor": None,
        }
        assert (await client.get(ITEMS_06, headers=key)).json() == page
        users = {"users": [{"user_id": 3, "age": 40}]}
        assert (await client.put("/v1/users-bulk/properties/", headers=key, json=users)).is_success
        got = await client.get("/v1/users/3/properties/", headers=key)
        assert got.json() == {"user": {"user_id": 3, "age": 40}}

    async def test_pages_over_the_07_path(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        await add_to_catalog(client, key, "item", list(range(5)))
        first = (await client.get(ITEMS_07, headers=key, params={"amt": 3})).json()
        assert [row["item_id"] for row in first["items"]] == [0, 1, 2]
        params = {"amt": 3, "cursor": first["next_cursor"]}
        second = (await client.get(ITEMS_07, headers=key, params=params)).json()
        assert [row["item_id"] for row in second["items"]] == [3, 4]
        assert second["has_next"] is False


class TestPartialUpdates:
    async def test_patch_one(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        path = "/v1/items/1/properties/"
        body = {"item": {"title": "a", "tags": ["x"]}}
        missing = await client.patch(path, headers=key, json=body)
        problem = assert_problem(missing, 404, "ITEM_NOT_FOUND")
        assert problem["error_data"] == {"name": "ITEM_NOT_FOUND", "type": "item", "key": 1}
        assert await items(client, key) == []
        created = await client.patch(path, headers=key, json=body | {"create_if_missing": True})
        assert created.json() == {"item_created": True, "item_modified": False}
        changed = await client.patch(path, headers=key, json={"item": {"price": 2, "title": None}})
        assert changed.json() == {"item_created": False, "item_modified": True}
        assert await items(client, key) == [{"item_id": 1, "tags": ["x"], "price": 2}]
        user = await client.patch(
            "/v1/users/4/", headers=key, json={"user": {"age": 9}, "create_if_missing": True}
        )
        assert user.json() == {"user_created": True, "user_modified": False}

    async def test_patch_many(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        rows = [{"item_id": 1, "title": "a", "price": 1}, {"item_id": 2, "title": "b"}]
        assert (await client.put(ITEMS_07, headers=key, json={"items": rows})).is_success
        body: dict[str, Any] = {
            "items": [{"item_id": 2, "price": 5}, {"item_id": 9, "title": "new"}],
            "items_m2m": [],
        }
        missing = await client.patch(ITEMS_07, headers=key, json=body)
        problem = assert_problem(missing, 404, "ITEMS_NOT_FOUND")
        assert problem["error_data"]["key"] == 9
        assert problem["error_data"]["items"] == [9]
        assert len(await items(client, key)) == 2
        body |= {"create_if_missing": True, "wait_for_completion": True}
        body["items"].append({"item_id": 1, "title": None})
        body["items_m2m"] = [{"name": "tags", "array": [{"item_index": 2, "value_id": "t"}]}]
        response = await client.patch(ITEMS_07, headers=key, json=body)
        assert response.status_code == 204, response.text
        assert await items(client, key) == [
            {"item_id": 1, "price": 1, "tags": ["t"]},
            {"item_id": 2, "title": "b", "price": 5},
            {"item_id": 9, "title": "new"},
        ]
        assert (await counters(client, key))["item"] == 3

    async def test_the_same_id_twice_merges_in_order(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        rows = [
            {"item_id": 1, "title": "a", "price": 1},
            {"item_id": 1, "title": "b"},
        ]
        body = {"items": rows, "create_if_missing": True}
        assert (await client.patch(ITEMS_06, headers=key, json=body)).status_code == 204
        assert await items(client, key) == [{"item_id": 1, "title": "b", "price": 1}]


class TestListByIds:
    async def test_known_ids_only(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        rows = [{"item_id": n, "title": str(n), "price": n} for n in (3, 1, 2)]
        assert (await client.put(ITEMS_07, headers=key, json={"items": rows})).is_success
        body = {"items_id": [3, 99, 1, 3]}
        response = await client.post("/v1/items-bulk/properties/list/", headers=key, json=body)
        assert response.json() == {
            "items": [
                {"item_id": 1, "title": "1", "price": 1},
                {"item_id": 3, "title": "3", "price": 3},
            ],
            "items_m2m": [],
        }
        old = await client.post("/v1/items-bulk/list/", headers=key, json=body)
        assert old.json() == response.json()
        some = await client.post(
            "/v1/items-bulk/properties/list/",
            headers=key,
            json={"items_id": [2], "properties": ["price"]},
        )
        assert some.json()["items"] == [{"item_id": 2, "price": 2}]
        users = await client.post(
            "/v1/users-bulk/properties/list/", headers=key, json={"users_id": [1]}
        )
        assert users.json() == {"users": [], "users_m2m": []}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"items_id": [1, -1]}, "items_id.1"),
            ({"items_id": [1], "properties": ["nope"]}, "properties.0"),
            ({}, "items_id"),
            ({"items_id": list(range(10_001))}, "items_id"),
        ],
    )
    async def test_bad_bodies(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        key = await shop(client)
        response = await client.post("/v1/items-bulk/properties/list/", headers=key, json=body)
        assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == [field]


class TestDeletes:
    async def _rated(self, client: httpx.AsyncClient) -> dict[str, str]:
        key = await shop(client)
        await add_to_catalog(client, key, "item", [1, 2, 3])
        await add_to_catalog(client, key, "user", [1, 2])
        ratings = [{"user_id": u, "item_id": i, "rating": 5} for u in (1, 2) for i in (1, 2, 3)]
        response = await client.put("/v1/ratings-bulk/", headers=key, json={"ratings": ratings})
        assert response.status_code == 204, response.text
        return key

    async def test_deleting_properties_keeps_ratings(self, client: httpx.AsyncClient) -> None:
        key = await self._rated(client)
        assert (await client.delete("/v1/items/1/properties/", headers=key)).status_code == 204
        assert (await client.delete("/v1/items/2/", headers=key)).status_code == 204
        assert_problem(await client.get("/v1/items/1/", headers=key), 404, "ITEM_NOT_FOUND")
        assert_problem(
            await client.delete("/v1/items/1/properties/", headers=key), 404, "ITEM_NOT_FOUND"
        )
        assert (await client.delete("/v1/users/1/properties", headers=key)).status_code == 204
        assert await counters(client, key) == {"rating": 6, "user": 1, "item": 1}
        listed = (await client.get("/v1/ratings-bulk/", headers=key)).json()["ratings"]
        assert len(listed) == 6

    async def test_bulk_deletes_keep_ratings(self, client: httpx.AsyncClient) -> None:
        key = await self._rated(client)
        body = {"items_id": [1, 3, 77]}
        response = await client.request("DELETE", ITEMS_07, headers=key, json=body)
        assert response.status_code == 204, response.text
        response = await client.request(
            "DELETE", "/v1/users-bulk/", headers=key, json={"users_id": [2]}
        )
        assert response.status_code == 204, response.text
        assert await counters(client, key) == {"rating": 6, "user": 1, "item": 1}
        bad = await client.request("DELETE", ITEMS_06, headers=key, json={"items_id": [2, "x"]})
        assert list(assert_problem(bad, 400, "VALIDATION_ERROR")["errors"]) == ["items_id.1"]
        assert (await counters(client, key))["item"] == 1

    async def test_deleting_everything_of_a_user(self, client: httpx.AsyncClient) -> None:
        key = await self._rated(client)
        assert (await client.delete("/v1/users/1/*", headers=key)).status_code == 204
        assert await counters(client, key) == {"rating": 3, "user": 1, "item": 3}
        assert (await client.delete("/v1/users/2/properties/", headers=key)).status_code == 204
        assert (await client.delete("/v1/users/2/*/", headers=key)).status_code == 204
        assert await counters(client, key) == {"rating": 0, "user": 0, "item": 3}
        assert_problem(await client.delete("/v1/users/2/*", headers=key), 404, "USER_NOT_FOUND")


class TestListParameters:
    async def test_properties_chooses_what_is_shown(self, client: httpx.AsyncClient) -> None:
        key = await shop(client)
        rows = [{"item_id": 1, "title": "a", "price": 1, "stock": True}]
        assert (await client.put(ITEMS_07, headers=key, json={"items": rows})).is_success
        params = httpx.QueryParams([("properties", "title"), ("properties", "stock")])
        page = (await client.get(ITEMS_07, headers=key, params=params)).json()
        assert page["items"] == [{"item_id": 1, "title": "a", "stock": True}]
        bad = await client.get(ITEMS_07, headers=key, params={"properties": "nope"})
        assert list(assert_problem(bad, 400, "VALIDATION_ERROR")["errors"]) == ["properties.0"]

    @pytest.mark.parametrize(
        ("path", "params", "field"),
        [
            (ITEMS_07, {"filters": "price:gt:1"}, "filters"),
            ("/v1/users-bulk/properties/", {"filters": "age:eq:1"}, "filters"),
            (ITEMS_06, {"page": "2"}, "page"),
        ],
    )
    async def test_unknown_parameters_are_400(
        self, client: httpx.AsyncClient, path: str, params: dict[str, str], field: str
    ) -> None:
        key = await shop(client)
        response = await client.get(path, headers=key, params=params)
        assert list(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == [field]
