"""Lanes keep a schema on the same pool; a connection whose catalog cache grows past its
limit is replaced."""

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from tenantry.config import Settings
from tenantry.db import engine as engines
from tenantry.db.engine import Lanes, Reader, create_engine

BACKEND_PID = text("SELECT pg_backend_pid()")


class TestLanes:
    def test_a_schema_always_gets_the_same_lane(self, settings: Settings) -> None:
        lanes = Lanes(settings.model_copy(update={"lanes": 4}))
        names = [f"db_{n:06d}" for n in range(200)]
        assert [lanes.of(name) for name in names] == [lanes.of(name) for name in names]
        assert len({id(lanes.of(name)) for name in names}) == 4  # spread over every lane


class TestCatalogCacheLimit:
    async def test_a_heavy_connection_is_replaced(
        self, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(engines, "CHECK_EVERY", 1)
        engine = create_engine(
            settings.model_copy(update={"catalog_cache_limit_mb": 1}), pool_size=1, max_overflow=0
        )
        try:
            async with engine.connect() as connection:
                first = await connection.scalar(BACKEND_PID)
                # reading the catalog through its views caches many relations
                await connection.execute(text("SELECT count(*) FROM information_schema.columns"))
            async with engine.connect() as connection:
                second = await connection.scalar(BACKEND_PID)
            assert second != first
        finally:
            await engine.dispose()

    async def test_a_light_connection_is_kept(
        self, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(engines, "CHECK_EVERY", 1)
        engine = create_engine(settings, pool_size=1, max_overflow=0)  # 192 MiB
        try:
            async with engine.connect() as connection:
                first = await connection.scalar(BACKEND_PID)
            async with engine.connect() as connection:
                assert await connection.scalar(BACKEND_PID) == first
        finally:
            await engine.dispose()


class TestHalfBegunTransactions:
    async def test_a_cancelled_begin_does_not_poison_the_pool(self, settings: Settings) -> None:
        """A task cancelled while the driver sends BEGIN leaves the driver believing it is
        in a transaction; the connection is replaced, not handed to the next request,
        whose every transaction would then be a SAVEPOINT outside any transaction."""
        engine = create_engine(settings, pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: asyncpg.Connection = raw.driver_connection
                first = await driver.fetchval("SELECT pg_backend_pid()")  # no transaction
                begin = asyncio.create_task(driver.transaction().start())
                await asyncio.sleep(0)  # noted as begun, BEGIN on its way
                begin.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await begin
                assert engines.half_begun(driver)
            async with engine.begin() as connection:  # the pool's next connection works
                assert await connection.scalar(BACKEND_PID) != first
                assert await connection.scalar(text("SELECT 1")) == 1
        finally:
            await engine.dispose()


def _reader(settings: Settings, *, readers: int = 1, limit_mb: int | None = None) -> Reader:
    settings = settings.model_copy(update={"lane_readers": readers})
    assert settings.database_url is not None
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    limit = (limit_mb or settings.catalog_cache_limit_mb) * 1024 * 1024
    return Reader(dsn, settings, limit)


class TestReader:
    async def test_waiting_requests_are_served_in_order(self, settings: Settings) -> None:
        reader = _reader(settings)
        served: list[int] = []

        async def read(n: int) -> None:
            await reader.fetch("SELECT pg_sleep(0.001)")
            served.append(n)

        try:
            await asyncio.gather(*(read(n) for n in range(50)))
        finally:
            await reader.close()
        assert served == list(range(50))

    async def test_a_statement_error_keeps_the_connection(self, settings: Settings) -> None:
        reader = _reader(settings)
        try:
            [first] = await reader.fetch("SELECT pg_backend_pid()")
            with pytest.raises(asyncpg.DivisionByZeroError):
                await reader.fetch("SELECT 1 / 0")
            assert await reader.fetch("SELECT pg_backend_pid()") == [first]
        finally:
            await reader.close()

    async def test_a_broken_connection_is_replaced(self, settings: Settings) -> None:
        reader = _reader(settings)
        try:
            [(pid,)] = await reader.fetch("SELECT pg_backend_pid()")
            with pytest.raises(asyncpg.ConnectionDoesNotExistError):
                await reader.fetch("SELECT pg_terminate_backend($1)", pid)  # its own
            [(again,)] = await reader.fetch("SELECT pg_backend_pid()")
            assert again != pid
        finally:
            await reader.close()

    async def test_a_heavy_connection_is_replaced(
        self, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(engines, "CHECK_EVERY", 1)
        reader = _reader(settings, limit_mb=1)
        try:
            [(pid,)] = await reader.fetch("SELECT pg_backend_pid()")
            await reader.fetch("SELECT count(*) FROM information_schema.columns")
            [(again,)] = await reader.fetch("SELECT pg_backend_pid()")
            assert again != pid
        finally:
            await reader.close()
