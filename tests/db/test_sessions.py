"""The request's transaction commits before the response, and rolls back on error;
schema binding leaves nothing behind on the pooled connection."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.config import Settings
from tenantry.context import RequestInfo, enter_request, leave_request
from tenantry.db.engine import create_engine
from tenantry.db.migrate import create_schema
from tenantry.db.schema_names import InvalidSchemaName, make
from tenantry.db.sessions import (
    SecondControlConnection,
    bind_schema,
    detached_session,
    fetch_one,
    tenant_session,
)
from tenantry.models.data import Space
from tests.utils.sql import drop_schema


@pytest.fixture(scope="module")
async def probe_table(engine: AsyncEngine) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE SCHEMA IF NOT EXISTS probe"))
        await connection.execute(text("CREATE TABLE IF NOT EXISTS probe.notes (note text)"))
    yield
    await drop_schema(engine, "probe")


async def notes(engine: AsyncEngine, note: str) -> int:
    async with engine.connect() as connection:
        query = text("SELECT count(*) FROM probe.notes WHERE note = :note")
        return int((await connection.execute(query, {"note": note})).scalar_one())


@pytest.mark.usefixtures("probe_table")
class TestRequestTransaction:
    async def test_committed_when_the_response_is_sent(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        response = await client.post("/_probe/notes/kept")
        assert response.status_code == 201
        assert await notes(engine, "kept") == 1

    async def test_rolled_back_on_error(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        response = await client.post("/_probe/notes/dropped", params={"fail": "true"})
        assert response.status_code == 409
        assert await notes(engine, "dropped") == 0


@pytest.fixture(scope="module")
async def two_schemas(engine: AsyncEngine) -> AsyncIterator[tuple[str, str]]:
    schemas = (make("alpha"), make("beta"))
    for schema in schemas:
        await create_schema(engine, schema, kind="database")
        async with tenant_session(engine, schema) as session:
            session.add(Space(name=f"space of {schema}"))
    yield schemas
    for schema in schemas:
        await drop_schema(engine, schema)


class TestSchemaBinding:
    async def test_each_session_sees_its_own_schema(
        self, engine: AsyncEngine, two_schemas: tuple[str, str]
    ) -> None:
        for schema in two_schemas:
            async with tenant_session(engine, schema) as session:
                names = (await session.scalars(select(Space.name))).all()
            assert names == [f"space of {schema}"]

    async def test_one_pooled_connection_alternating_schemas(
        self, settings: Settings, two_schemas: tuple[str, str]
    ) -> None:
        engine = create_engine(settings.model_copy(update={"pool_max_overflow": 0}), pool_size=1)
        try:
            for step in range(20):
                schema = two_schemas[step % 2]
                if step % 3 == 0:
                    with pytest.raises(DBAPIError):
                        async with tenant_session(engine, schema) as session:
                            await session.execute(text("SELECT 1/0"))
                async with tenant_session(engine, schema) as session:
                    names = (await session.scalars(select(Space.name))).all()
                    current = (await session.execute(text("SELECT current_schema()"))).scalar()
                assert names == [f"space of {schema}"]
                assert current == "pg_catalog"
        finally:
            await engine.dispose()

    async def test_unbound_statement_fails_instead_of_reading_the_template(
        self, engine: AsyncEngine
    ) -> None:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="does not exist"):
                await connection.execute(select(Space.name))

    @pytest.mark.parametrize("name", ['a"; DROP SCHEMA public; --', "Upper", "", "1abc", "a-b"])
    async def test_refuses_names_the_server_did_not_make(
        self, engine: AsyncEngine, name: str
    ) -> None:
        async with engine.connect() as connection:
            with pytest.raises(InvalidSchemaName):
                await bind_schema(connection, name)


class TestOneControlConnection:
    """A request never waits on a second control-plane connection: two of one request can
    deadlock on each other, and many such requests starve the pool."""

    async def test_a_second_is_refused(self, engine: AsyncEngine) -> None:
        token = enter_request(RequestInfo(id="probe", method="GET", path="/"))
        try:
            async with detached_session(engine):
                with pytest.raises(SecondControlConnection):
                    async with detached_session(engine):
                        pass
                with pytest.raises(SecondControlConnection):
                    await fetch_one(engine, "SELECT 1")
            async with detached_session(engine):  # one after another is fine
                pass
        finally:
            leave_request(token)

    async def test_outside_a_request_any_number(self, engine: AsyncEngine) -> None:
        async with detached_session(engine), detached_session(engine):
            pass
