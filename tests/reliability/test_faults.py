"""Faults under load, bounded: every kind of fault at least once while a client keeps
writing with Idempotency-Keys (see `tests/utils/faults.py`; `scripts/soak` is the long
run)."""

import os

import pytest

from tests.utils.faults import FAULTS, dumps, scenario

pytestmark = pytest.mark.slow
SECONDS = float(os.environ.get("TENANTRY_FAULTS_SECONDS", "20"))


async def test_acknowledged_writes_survive_every_fault() -> None:
    with scenario(SECONDS, seed=1, max_writes=5000) as run:
        report = await run.run()
    assert set(report.faults) == set(FAULTS), dumps(report)
    assert report.acknowledged, dumps(report)
    assert report.ok, f"{report.failures()}\n{dumps(report)}"
