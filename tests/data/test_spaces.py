"""Spaces: the documented requests, optional idempotency, background images served with
their type and ETag, isolation between databases."""

import asyncio
import hashlib
import io
import uuid
from datetime import UTC
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydantic import ValidationError
from sqlalchemy import String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tenantry.data.common import read_model
from tenantry.data.pagination import Meta
from tenantry.data.spaces import service as spaces
from tenantry.data.spaces.schemas import SpacePage, SpaceRead
from tenantry.db.base import Timestamps
from tests.utils.factories import SPACES, create_space, ready_org
from tests.utils.problems import assert_problem
from tests.utils.sql import schema_of

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


class TestDocumentedRequests:
    async def test_the_documented_sequence(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        assert (await client.get(SPACES, headers=key)).json()["data"] == []
        response = await client.post(
            SPACES,
            headers=key,
            json={"name": "New Space", "description": "A description of the space"},
        )
        assert response.status_code == 201
        space = response.json()
        assert space["metadata"] == {}
        assert space["has_background"] is False
        path = f"{SPACES}/{space['space_id']}"
        assert (await client.get(SPACES, headers=key)).json()["data"] == [space]
        assert (await client.get(path, headers=key)).json() == space

        patched = await client.patch(path, headers=key, json={"name": "Updated Space Name"})
        assert patched.json()["name"] == "Updated Space Name"
        assert patched.json()["description"] == "A description of the space"

        background = await client.get(f"{path}/background", headers=key)
        assert_problem(background, 404, "BACKGROUND_NOT_FOUND")
        assert (await client.delete(path, headers=key)).status_code == 204
        assert_problem(await client.get(path, headers=key), 404, "SPACE_NOT_FOUND")
        assert_problem(await client.get(f"{path}/background", headers=key), 404, "SPACE_NOT_FOUND")

    async def test_metadata_and_partial_update(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        space = await create_space(client, key, metadata={"theme": "dark", "seats": 4})
        path = f"{SPACES}/{space['space_id']}"
        patched = await client.patch(path, headers=key, json={"description": "now described"})
        assert patched.json()["metadata"] == {"theme": "dark", "seats": 4}
        response = await client.patch(path, headers=key, json={"metadata": None, "space_id": "x"})
        assert set(assert_problem(response, 400, "VALIDATION_ERROR")["errors"]) == {
            "metadata",
            "space_id",
        }


class TestIdempotency:
    async def test_optional_and_replayed(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        await create_space(client, key)
        headers = key | {"Idempotency-Key": uuid.uuid4().hex}
        first = await client.post(SPACES, headers=headers, json={"name": "once"})
        again = await client.post(SPACES, headers=headers, json={"name": "once"})
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert len((await client.get(SPACES, headers=key)).json()["data"]) == 2

    async def test_a_key_sent_at_once_makes_one_space(self, client: httpx.AsyncClient) -> None:
        """Parallel sends of one key: one space; each answer is it, replayed, or 409."""
        _, key = await ready_org(client)
        headers = key | {"Idempotency-Key": uuid.uuid4().hex}
        body = {"name": "racing", "metadata": {"deep": {"b": [1, 2.5, None]}, "a": "é"}}
        answers = await asyncio.gather(
            *(client.post(SPACES, headers=headers, json=body) for _ in range(8))
        )
        made = [answer for answer in answers if answer.status_code == 201]
        for answer in answers:
            if answer.status_code == 409:
                assert_problem(answer, 409, "IDEMPOTENCY_KEY_IN_USE")
        assert {answer.status_code for answer in answers} <= {201, 409}
        assert len({answer.content for answer in made}) == 1
        later = await client.post(SPACES, headers=headers, json=body)
        assert (later.status_code, later.content) == (201, made[0].content)
        assert len((await client.get(SPACES, headers=key)).json()["data"]) == 1
        other = await client.post(SPACES, headers=headers, json={"name": "another"})
        assert_problem(other, 422, "IDEMPOTENCY_KEY_REUSED")


class TestBackground:
    @pytest.fixture
    async def with_background(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> tuple[str, dict[str, str]]:
        org, key = await ready_org(client)
        space = await create_space(client, key)
        schema = await schema_of(engine, org.database_id)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    f'INSERT INTO "{schema}".space_backgrounds '
                    "(space_id, content_type, sha256, data) VALUES (:id, 'image/png', :sha, :data)"
                ),
                {"id": space["space_id"], "sha": hashlib.sha256(PNG).hexdigest(), "data": PNG},
            )
        return f"{SPACES}/{space['space_id']}", key

    async def test_served_with_type_and_etag(
        self, client: httpx.AsyncClient, with_background: tuple[str, dict[str, str]]
    ) -> None:
        path, key = with_background
        response = await client.get(f"{path}/background", headers=key)
        assert response.status_code == 200
        assert response.content == PNG
        assert response.headers["content-type"] == "image/png"
        etag = response.headers["etag"]
        assert etag == f'"{hashlib.sha256(PNG).hexdigest()}"'
        assert "max-age" in response.headers["cache-control"]
        cached = await client.get(f"{path}/background", headers=key | {"If-None-Match": etag})
        assert cached.status_code == 304
        assert cached.content == b""
        assert (await client.get(path, headers=key)).json()["has_background"] is True

    async def test_never_sniffed(
        self, client: httpx.AsyncClient, with_background: tuple[str, dict[str, str]]
    ) -> None:
        path, key = with_background
        response = await client.get(f"{path}/background", headers=key)
        assert response.headers["x-content-type-options"] == "nosniff"
        etag = {"If-None-Match": response.headers["etag"]}
        cached = await client.get(f"{path}/background", headers=key | etag)
        assert cached.headers["x-content-type-options"] == "nosniff"


def image(image_format: str, size: tuple[int, int] = (8, 6), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=1 if mode == "1" else (200, 30, 30)).save(buffer, image_format)
    return buffer.getvalue()


class TestUpload:
    @pytest.fixture
    async def space(self, client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
        _, key = await ready_org(client)
        return f"{SPACES}/{(await create_space(client, key))['space_id']}", key

    @pytest.mark.parametrize(
        ("image_format", "content_type"),
        [
            ("PNG", "image/png"),
            ("JPEG", "image/jpeg"),
            ("WEBP", "image/webp"),
            ("GIF", "image/gif"),
        ],
    )
    async def test_raw_body(
        self,
        client: httpx.AsyncClient,
        space: tuple[str, dict[str, str]],
        image_format: str,
        content_type: str,
    ) -> None:
        path, key = space
        data = image(image_format)
        # the declared type is ignored: the bytes say what the image is
        headers = key | {"Content-Type": "application/octet-stream"}
        put = await client.put(f"{path}/background", headers=headers, content=data)
        assert put.status_code == 200, put.text
        assert put.json()["has_background"] is True
        served = await client.get(f"{path}/background", headers=key)
        assert served.content == data
        assert served.headers["content-type"] == content_type

    async def test_updated_at_moves(
        self, client: httpx.AsyncClient, space: tuple[str, dict[str, str]]
    ) -> None:
        path, key = space
        created = (await client.get(path, headers=key)).json()["updated_at"]
        put = await client.put(f"{path}/background", headers=key, content=image("PNG"))
        uploaded = put.json()["updated_at"]
        assert uploaded > created
        assert (await client.get(path, headers=key)).json()["updated_at"] == uploaded
        assert (await client.delete(f"{path}/background", headers=key)).status_code == 204
        assert (await client.get(path, headers=key)).json()["updated_at"] > uploaded

    async def test_multipart_and_replace(
        self, client: httpx.AsyncClient, space: tuple[str, dict[str, str]]
    ) -> None:
        path, key = space
        first = await client.put(
            f"{path}/background", headers=key, files={"file": ("a.png", image("PNG"), "image/png")}
        )
        assert first.status_code == 200, first.text
        etag = (await client.get(f"{path}/background", headers=key)).headers["etag"]
        second = await client.put(f"{path}/background", headers=key, content=image("JPEG"))
        assert second.status_code == 200
        served = await client.get(f"{path}/background", headers=key | {"If-None-Match": etag})
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [
            (b"just some text", 415, "UNSUPPORTED_IMAGE_TYPE"),
            (image("BMP"), 415, "UNSUPPORTED_IMAGE_TYPE"),
            (image("PNG", (64, 64))[:-40], 400, "INVALID_IMAGE"),
            (b"", 400, "INVALID_IMAGE"),
            (image("PNG", (12_000, 10_000), mode="1"), 413, "IMAGE_TOO_LARGE"),
            (b"\x89PNG" + b"\0" * (6 * 1024 * 1024), 413, "PAYLOAD_TOO_LARGE"),
        ],
        ids=["text", "bmp", "truncated", "empty", "bomb", "too-many-bytes"],
    )
    async def test_refused(
        self,
        client: httpx.AsyncClient,
        space: tuple[str, dict[str, str]],
        body: bytes,
        status: int,
        code: str,
    ) -> None:
        path, key = space
        response = await client.put(f"{path}/background", headers=key, content=body)
        assert_problem(response, status, code)
        assert (await client.get(path, headers=key)).json()["has_background"] is False

    async def test_streamed_body_over_the_cap(
        self, client: httpx.AsyncClient, space: tuple[str, dict[str, str]]
    ) -> None:
        path, key = space

        async def chunks() -> Any:
            for _ in range(7):
                yield b"\0" * (1024 * 1024)

        response = await client.put(f"{path}/background", headers=key, content=chunks())
        assert_problem(response, 413, "PAYLOAD_TOO_LARGE")

    async def test_bad_multipart(
        self, client: httpx.AsyncClient, space: tuple[str, dict[str, str]]
    ) -> None:
        path, key = space
        multipart = key | {"Content-Type": "multipart/form-data; boundary=x"}
        text_only = b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\ntext\r\n--x--\r\n'
        no_file = await client.put(f"{path}/background", headers=multipart, content=text_only)
        assert_problem(no_file, 400, "INVALID_IMAGE")
        broken = await client.put(
            f"{path}/background",
            headers=multipart,
            content=b"--x\r\nnonsense",
        )
        assert broken.status_code == 400

    async def test_delete_and_who_may(
        self, client: httpx.AsyncClient, space: tuple[str, dict[str, str]]
    ) -> None:
        path, key = space
        assert_problem(
            await client.put(f"{path}/background", content=image("PNG")),
            403,
            "PUBLIC_SCHEMA_READ_ONLY",
        )
        await client.put(f"{path}/background", headers=key, content=image("PNG"))
        assert (await client.delete(f"{path}/background", headers=key)).status_code == 204
        gone = await client.get(f"{path}/background", headers=key)
        assert_problem(gone, 404, "BACKGROUND_NOT_FOUND")
        again = await client.delete(f"{path}/background", headers=key)
        assert_problem(again, 404, "BACKGROUND_NOT_FOUND")


class TestIsolation:
    async def test_other_databases_ids_are_not_found(self, client: httpx.AsyncClient) -> None:
        (_, mine), (_, theirs) = await ready_org(client), await ready_org(client)
        path = f"{SPACES}/{(await create_space(client, theirs, name='secret'))['space_id']}"
        for response in (
            await client.get(path, headers=mine),
            await client.patch(path, headers=mine, json={"name": "mine"}),
            await client.delete(path, headers=mine),
            await client.get(f"{path}/background", headers=mine),
        ):
            assert_problem(response, 404, "SPACE_NOT_FOUND")
        assert (await client.get(path, headers=theirs)).json()["name"] == "secret"

    async def test_anonymous_reads_the_template_only(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        await create_space(client, key)
        assert (await client.get(SPACES)).json()["data"] == []
        response = await client.post(SPACES, json={"name": "s"})
        assert_problem(response, 403, "PUBLIC_SCHEMA_READ_ONLY")


JSON_LEAVES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text()
JSON_VALUES = st.recursive(
    JSON_LEAVES | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
SPACE_ROWS = st.fixed_dictionaries(
    {
        "space_id": st.uuids(),
        "name": st.text(min_size=1),
        "description": st.none() | st.text(),
        "metadata": st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=4),
        "created_at": st.datetimes(timezones=st.just(UTC)),
        "updated_at": st.datetimes(timezones=st.just(UTC)),
        "has_background": st.booleans(),
    }
)


class TestOneReadModel:
    @settings(max_examples=500, deadline=None)
    @given(rows=st.lists(SPACE_ROWS, max_size=4), cursor=st.none() | st.text(max_size=10))
    def test_rows_are_written_as_the_model_writes_them(
        self, rows: list[dict[str, Any]], cursor: str | None
    ) -> None:
        """Pages and spaces are serialized from rows, with no model made: byte for byte
        what the model writes."""
        meta = Meta(next_cursor=cursor, has_more=cursor is not None)
        models = [SpaceRead.model_construct(**row) for row in rows]
        page = spaces.PAGE.dump_json({"data": [spaces._fields(r) for r in rows], "meta": meta})
        assert page == SpacePage.model_construct(data=models, meta=meta).model_dump_json().encode()
        for row, model in zip(rows, models, strict=True):
            assert spaces._json(row) == model.model_dump_json().encode()

    def test_a_column_added_to_the_model_is_a_field_of_every_answer(self) -> None:
        """The answer is made from the model: a new column needs no other edit."""

        class Base(DeclarativeBase):
            pass

        class Probe(Timestamps, Base):
            __tablename__ = "probes"
            probe_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
            colour: Mapped[str | None] = mapped_column(String(20))
            extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)

        answer = read_model("ProbeRead", Probe, has_background=bool)
        fields = ["probe_id", "colour", "metadata", "has_background", "created_at", "updated_at"]
        assert list(answer.model_fields) == fields
        now = "2026-01-01T00:00:00Z"
        row = {"probe_id": uuid.uuid4(), "colour": None, "metadata": {}, "has_background": False}
        assert answer.model_validate(row | {"created_at": now, "updated_at": now}).colour is None
        with pytest.raises(ValidationError, match="colour"):
            answer.model_validate(row | {"colour": 5, "created_at": now, "updated_at": now})
