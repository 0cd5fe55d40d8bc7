"""The hot reads answer exactly as the application does, and leave everything else to it."""

import uuid

import httpx
import pytest

from tenantry.data.hot import HotRead
from tenantry.data.spaces.endpoints import HOT_READS
from tests.control.conftest import login_to
from tests.data.test_spaces import SPACES, create
from tests.data.test_tenant_models import ready_org
from tests.test_errors import assert_problem

LIST, ONE = HOT_READS


class Served:
    """How many requests a hot read answered itself during a block."""

    def __init__(self, read: HotRead) -> None:
        self.read = read
        self.before = read.served

    @property
    def count(self) -> int:
        return self.read.served - self.before


@pytest.fixture
async def org(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    """An API key and a bearer token of the same database, with three spaces."""
    registration, key = await ready_org(client)
    for name in ("a", "b", "c"):
        await create(client, key, name=name, metadata={"n": name})
    bearer = await login_to(client, registration.email, registration.body["database"]["id"])
    return key, bearer


class TestSameAnswers:
    async def test_one_space(
        self, client: httpx.AsyncClient, org: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        key, bearer = org
        space_id = (await client.get(SPACES, headers=key)).json()["data"][0]["space_id"]
        served = Served(ONE)
        hot = await client.get(f"{SPACES}/{space_id}", headers=key)
        assert served.count == 1
        full = await client.get(f"{SPACES}/{space_id}", headers=bearer)  # not a hot request
        assert served.count == 1
        assert hot.status_code == full.status_code == 200
        assert hot.content == full.content
        assert hot.headers["content-type"] == full.headers["content-type"]

    async def test_pages(
        self, client: httpx.AsyncClient, org: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        key, bearer = org
        served = Served(LIST)
        hot = await client.get(f"{SPACES}?limit=2", headers=key)
        full = await client.get(f"{SPACES}?limit=2", headers=bearer)
        assert served.count == 1
        assert hot.content == full.content
        cursor = hot.json()["meta"]["next_cursor"]
        hot = await client.get(SPACES, params={"limit": 2, "cursor": cursor}, headers=key)
        full = await client.get(SPACES, params={"limit": 2, "cursor": cursor}, headers=bearer)
        assert served.count == 2
        assert hot.content == full.content
        assert [space["name"] for space in hot.json()["data"]] == ["c"]


class TestLeftToTheApplication:
    @pytest.mark.parametrize(
        ("query", "status", "code"),
        [
            ("limit=0", 400, "VALIDATION_ERROR"),
            ("limit=101", 400, "VALIDATION_ERROR"),
            ("limit=ten", 400, "VALIDATION_ERROR"),
            ("cursor=forged.cursor", 400, "INVALID_CURSOR"),
            (f"cursor={'x' * 600}", 400, "VALIDATION_ERROR"),
        ],
    )
    async def test_bad_page_parameters(
        self,
        client: httpx.AsyncClient,
        org: tuple[dict[str, str], dict[str, str]],
        query: str,
        status: int,
        code: str,
    ) -> None:
        key, _ = org
        served = Served(LIST)
        assert_problem(await client.get(f"{SPACES}?{query}", headers=key), status, code)
        assert served.count == 0

    async def test_errors(
        self, client: httpx.AsyncClient, org: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        key, _ = org
        served = Served(ONE)
        missing = await client.get(f"{SPACES}/{uuid.uuid4()}", headers=key)
        assert_problem(missing, 404, "SPACE_NOT_FOUND")
        assert_problem(
            await client.get(f"{SPACES}/not-a-uuid", headers=key), 400, "VALIDATION_ERROR"
        )
        unknown = {"X-API-Key": "tnt_" + "A" * 46}
        assert_problem(
            await client.get(f"{SPACES}/{uuid.uuid4()}", headers=unknown),
            401,
            "INVALID_CREDENTIALS",
        )
        assert served.count == 0

    async def test_a_space_id_is_read_as_the_route_reads_it(
        self, client: httpx.AsyncClient, org: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        key, bearer = org
        space_id = (await client.get(SPACES, headers=key)).json()["data"][0]["space_id"]
        digits = space_id.replace("-", "")
        for spelling in (f"{digits[:4]}-{digits[4:]}", f"{digits[:-2]}_{digits[-1]}"):
            hot = await client.get(f"{SPACES}/{spelling}", headers=key)
            full = await client.get(f"{SPACES}/{spelling}", headers=bearer)
            assert hot.status_code == full.status_code == 400, spelling
            assert hot.json()["code"] == full.json()["code"] == "VALIDATION_ERROR"

    async def test_other_credentials(
        self, client: httpx.AsyncClient, org: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        key, bearer = org
        served = Served(LIST)
        other_key = {"Api-Key": "tnt_" + "B" * 46}
        assert_problem(
            await client.get(SPACES, headers=key | other_key), 401, "INVALID_CREDENTIALS"
        )
        anonymous = await client.get(SPACES)  # the template
        assert anonymous.status_code == 200
        assert {s["name"] for s in anonymous.json()["data"]}.isdisjoint({"a", "b", "c"})
        assert (await client.get(SPACES, headers=key | bearer)).status_code == 200
        assert served.count == 0
