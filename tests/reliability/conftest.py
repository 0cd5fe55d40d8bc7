"""The reliability suite's fixtures: the real app on a database of its own, its template
filled, running on an event loop of its own (`tests.utils.portal`), so that synchronous
Hypothesis state machines can drive it over HTTP."""

from collections.abc import Iterator

import pytest

from tests.utils.portal import Served, serve_app


@pytest.fixture(scope="module")
def served(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_app(postgres_server, tmp_path_factory.mktemp("reliability"))
