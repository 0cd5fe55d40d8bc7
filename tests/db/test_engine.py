"""Lanes keep a schema on the same pool; a connection whose catalog cache grows past its
limit is replaced."""

import pytest
from sqlalchemy import text

from tenantry.config import Settings
from tenantry.db import engine as engines
from tenantry.db.engine import Lanes, create_engine

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
