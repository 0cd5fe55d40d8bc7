"""Requests counted per database, key and day, added to the table in batches."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.ids import new_id
from tenantry.traffic import LATENCY_BOUNDS_MS, Traffic, percentile

READ = text(
    "SELECT api_key_id, requests, client_errors, server_errors, latency "
    "FROM tenantry.request_traffic WHERE database_id = :id ORDER BY api_key_id"
)


async def test_batches_add_up(engine: AsyncEngine) -> None:
    database, key = new_id(), new_id()
    traffic = Traffic(interval=60)
    traffic.record(database, key, 200, 0.003)
    traffic.record(database, key, 404, 0.040)
    traffic.record(database, None, 503, 9.0)  # an access token's, slower than every bound
    await traffic.flush(engine)
    traffic.record(database, key, 500, 0.003)
    await traffic.flush(engine)
    await traffic.flush(engine)  # nothing new: nothing written
    async with engine.connect() as connection:
        rows = (await connection.execute(READ, {"id": database})).all()
    slower = [0] * len(LATENCY_BOUNDS_MS) + [1]
    assert [tuple(row) for row in rows] == [
        ("", 1, 0, 1, slower),
        (key, 3, 1, 1, [2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
    ]


def test_percentiles_are_bucket_bounds() -> None:
    assert percentile([0] * 11, 0.5) is None
    assert percentile([2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 0.5) == 5
    assert percentile([2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 0.99) == 50
    assert percentile([0] * 10 + [1], 0.5) is None  # slower than the last bound
