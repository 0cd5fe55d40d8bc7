"""What a `tenantry serve` process does with connections: a request's head must arrive in
time, and past a number of open connections new ones are refused."""

import json
import resource
import select
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tenantry.cli.serve import FILES_BESIDES_CONNECTIONS
from tests.utils.server import Server

pytestmark = pytest.mark.slow
HEAD_START = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=15)


def until_closed(connection: socket.socket) -> tuple[bytes, float]:
    """What the server sends until it closes the connection, and when it closed it."""
    chunks = []
    try:
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks), time.monotonic()


def answer_of(connection: socket.socket) -> bytes:
    """One whole answer (a head and a Content-Length body), the connection left open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def trickle(connection: socket.socket, seconds: float) -> tuple[bytes, float]:
    """Send a header line every half second, for up to `seconds`, until the server answers
    or closes the connection."""
    deadline = time.monotonic() + seconds
    for n in range(1000):
        if select.select([connection], [], [], 0.5)[0]:
            return until_closed(connection)
        if time.monotonic() > deadline:
            break
        try:
            connection.sendall(b"X-Slow-%d: 1\r\n" % n)
        except (BrokenPipeError, ConnectionResetError):
            return b"", time.monotonic()
    raise AssertionError(f"the connection is still open after {seconds} s")


def assert_timed_out(answer: bytes) -> None:
    """A 408 problem, or nothing at all (the connection closed as the client wrote)."""
    if answer:
        head, _, content = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer[:500]
        assert b"connection: close" in head.lower()
        assert json.loads(content)["code"] == "REQUEST_TIMEOUT"


class TestHeaderTimeout:
    def test_a_trickled_head_is_cut_off_without_holding_up_others(self, server: Server) -> None:
        """One header line every half second used to keep a connection open for ever."""
        server.env["TENANTRY_HEADER_TIMEOUT"] = "2"
        server.start()
        with connect(server) as slow, ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            slow.sendall(HEAD_START)
            answer = pool.submit(trickle, slow, 10)
            for _ in range(10):  # while the slow one trickles
                assert httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200
                time.sleep(0.1)
            raw, closed = answer.result(timeout=30)
        assert 1.5 < closed - started < 4, closed - started
        assert_timed_out(raw)

    def test_partial_silent_and_kept_alive_connections(self, server: Server) -> None:
        """A partial head is answered 408; a connection that sent nothing is closed without
        an answer; on a kept-alive connection the time counts from the previous answer."""
        server.env["TENANTRY_HEADER_TIMEOUT"] = "2"
        server.start()
        with connect(server) as partial, connect(server) as silent, connect(server) as kept:
            started = time.monotonic()
            partial.sendall(HEAD_START)
            kept.sendall(HEAD_START + b"\r\n")
            first = answer_of(kept)
            assert first.startswith(b"HTTP/1.1 200"), first
            answered = time.monotonic()
            kept.sendall(HEAD_START)
            with ThreadPoolExecutor(3) as pool:
                results = [pool.submit(until_closed, c) for c in (partial, silent, kept)]
                (raw, partial_closed), (nothing, silent_closed), (again, kept_closed) = (
                    result.result(timeout=30) for result in results
                )
        assert 1.5 < partial_closed - started < 4
        head, _, content = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), raw[:500]
        assert b"content-type: application/problem+json" in head.lower()
        assert json.loads(content)["code"] == "REQUEST_TIMEOUT"
        assert nothing == b""
        assert 1.5 < silent_closed - started < 4
        assert 1.5 < kept_closed - answered < 4
        assert again.startswith(b"HTTP/1.1 408"), again[:500]


class TestUnparseable:
    @pytest.mark.parametrize(
        "request_line",
        [b"GET /\x01bad HTTP/1.1", b"GET /healthz?" + b"a" * 100_000 + b" HTTP/1.1"],
        ids=["a control character", "a 100 KB URL"],
    )
    def test_a_request_that_is_not_http_is_answered_as_a_problem(
        self, server: Server, request_line: bytes
    ) -> None:
        """Found by schemathesis (a list's 1,001 `properties`): uvicorn's own answer is text."""
        server.start()
        with connect(server) as connection:
            connection.sendall(request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")
            raw, _ = until_closed(connection)
        head, _, content = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), raw[:500]
        assert b"content-type: application/problem+json" in head.lower()
        problem = json.loads(content)
        assert problem["status"] == 400
        assert problem["code"] == "BAD_REQUEST"
        assert f"x-request-id: {problem['request_id']}".encode() in head.lower()


class TestConnectionLimit:
    def test_connections_past_the_limit_are_refused_until_some_close(self, server: Server) -> None:
        server.env["TENANTRY_MAX_CONNECTIONS"] = "5"
        server.start()
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        idle = [connect(server) for _ in range(5)]
        time.sleep(0.3)  # the server has taken them
        started = time.monotonic()
        refused = httpx.get(f"{server.url}/healthz", timeout=5)
        assert time.monotonic() - started < 1
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["connection"] == "close"
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["code"] == "TOO_MANY_CONNECTIONS"
        for connection in idle:
            connection.close()
        deadline = time.monotonic() + 3
        while (status := httpx.get(f"{server.url}/healthz").status_code) != 200:
            assert time.monotonic() < deadline, status
            time.sleep(0.05)

    def test_the_open_files_limit_is_raised_to_fit_the_connections(self, server: Server) -> None:
        """A soft limit of 512 open files would fail connections before 1000 are open."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
        try:
            server.start(wait=False)  # the server inherits the limit
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        server.wait_ready()
        assert server.process is not None
        limits = Path(f"/proc/{server.process.pid}/limits").read_text()
        line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
        wanted = 1000 + FILES_BESIDES_CONNECTIONS
        assert int(line.split()[3]) == (
            wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        )
