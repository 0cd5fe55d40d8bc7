"""The reliability suite's fixtures: the real app on a database of its own, its template
filled, running on an event loop of its own (`tests.utils.portal`), so that synchronous
Hypothesis state machines can drive it over HTTP: on PostgreSQL directly, and through
PgBouncer in transaction mode."""

from collections.abc import Iterator

import pytest

from tests.utils.portal import Served, serve_app

ROUTES = ("direct", "pgbouncer")


@pytest.fixture(scope="module", params=ROUTES)
def served(
    request: pytest.FixtureRequest,
    postgres_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    pooler = request.getfixturevalue("pgbouncer") if request.param == "pgbouncer" else None
    yield from serve_app(postgres_server, tmp_path_factory.mktemp("reliability"), pooler=pooler)
