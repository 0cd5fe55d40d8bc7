"""PostgreSQL restarted under a running app: while it is down every request is a 503
problem+json with `Retry-After` (never a 500, never a hang), and once it is back the very
first requests succeed: the pools replace the connections the restart closed."""

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from starlette.exceptions import HTTPException

from tenantry.errors import DatabaseUnavailable, as_problem
from tests.utils.faults import Cluster
from tests.utils.isolation import build_world
from tests.utils.portal import Served, serve_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL of this module's own: it is stopped and started by the tests."""
    folder = Path(tempfile.mkdtemp(prefix="tenantry-outage-"))
    cluster = Cluster(folder)
    cluster.start()
    yield cluster
    cluster.stop("immediate")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def on_cluster(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_app(cluster.url, tmp_path_factory.mktemp("outage"), lanes=2)


@pytest.fixture(scope="module")
def calls(on_cluster: Served) -> list[tuple[str, str, dict[str, object]]]:
    """A request of each path to the database: hot reads, sessions, the control plane."""
    world = build_world(on_cluster.request)
    writer = next(c for c in world.credentials if c.writes and "X-API-Key" in c.headers)
    bearer = next(c for c in world.credentials if c.writes and "Authorization" in c.headers)
    return [
        ("GET", "/v1/spaces", {"headers": writer.headers}),  # a hot read
        ("GET", "/v1/spaces", {}),  # the template
        ("POST", "/v1/spaces", {"headers": writer.headers, "json": {"name": "s"}}),
        ("POST", "/v1/spaces", {"headers": bearer.headers, "json": {"name": "t"}}),
        ("GET", "/v1/databases/current/", {"headers": bearer.headers}),
        ("POST", "/v1/login/individual/", {"json": {"email": "a@example.com", "password": "x"}}),
        ("GET", "/readyz", {}),
    ]


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"].isdigit()
    assert response.json()["status"] == 503


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_requests_during_and_after_a_restart(
    on_cluster: Served,
    cluster: Cluster,
    calls: list[tuple[str, str, dict[str, object]]],
    mode: str,
) -> None:
    for method, path, options in calls:  # every pool holds connections
        assert on_cluster.request(method, path, **options).status_code < 500
    cluster.stop(mode)
    try:
        for method, path, options in calls:
            started = time.monotonic()
            assert_unavailable(on_cluster.request(method, path, **options))
            assert time.monotonic() - started < 5, f"{method} {path} hung"
    finally:
        cluster.start()
    for method, path, options in calls:
        response = on_cluster.request(method, path, **options)
        assert response.status_code < 500, f"{method} {path} after the restart: {response.text}"


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        FileNotFoundError(2, "No such file or directory"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        # what an idle connection's next statement met once PostgreSQL had begun shutting
        # down (found by the soak: a 500 on a hot read)
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
    ],
)
def test_connection_failures_are_503(error: Exception) -> None:
    wrapped = RuntimeError("while connecting")
    wrapped.__cause__ = error
    for exc in (error, wrapped):
        problem = as_problem(exc)
        assert isinstance(problem, DatabaseUnavailable)
        assert problem.status == 503
        assert problem.headers["Retry-After"].isdigit()


def test_a_statement_error_is_not_503() -> None:
    assert not isinstance(as_problem(ValueError("bad")), DatabaseUnavailable)


def test_only_what_would_be_a_500_becomes_503() -> None:
    """An error with a status of its own keeps it, even when raised while a connection
    error was being handled."""
    error = HTTPException(status_code=413)
    error.__context__ = ConnectionResetError(104, "reset")
    assert as_problem(error).status == 413
