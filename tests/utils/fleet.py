"""A fleet: `tenantry serve` processes on one PostgreSQL database and one Redis, behind
Debian's HAProxy, which checks each process's `/readyz` and names the one that answered
in `X-Served-By`."""

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.utils.server import Server, environment, free_port

BINARY = shutil.which("haproxy") or "/usr/sbin/haproxy"
START_TIMEOUT = 30.0
SERVED_BY = "X-Served-By"


def require_haproxy() -> None:
    if not Path(BINARY).exists():
        pytest.skip("HAProxy is not installed (Debian's package `haproxy`)")


def balancer_config(port: int, servers: dict[str, int]) -> str:
    """Round robin over `servers` (name: port), each checked on `/readyz` twice a second and
    taken out after two failures; a request whose connection is refused is sent again to
    another (`redispatch`); the client's address passed on in `X-Forwarded-For`."""
    lines = "\n".join(f"  server {name} 127.0.0.1:{at} check" for name, at in servers.items())
    return f"""\
global
  maxconn 4096

defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  retries 3
  option redispatch 1
  option forwardfor

frontend api
  bind 127.0.0.1:{port}
  default_backend tenantry

backend tenantry
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
  http-response set-header {SERVED_BY} %[srv_name]
{lines}
"""


class Fleet:
    """`processes` (name: extra options of `tenantry serve`) on `database_url` and the Redis
    of `redis_url`, behind HAProxy on `url`."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        redis_url: str,
        processes: dict[str, tuple[str, ...]],
        settings: dict[str, str],
    ) -> None:
        self.folder = folder
        env = environment() | settings
        env |= {
            "TENANTRY_DATABASE_URL": database_url,
            "TENANTRY_REDIS_URL": redis_url,
            "TENANTRY_REDIS_PREFIX": f"fleet-{uuid.uuid4().hex[:8]}",  # a count of its own
        }
        self.servers = {name: Server(folder / name, env, *args) for name, args in processes.items()}
        self.port = free_port()
        self.balancer: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        for server in self.servers.values():
            server.start(wait=False)
        for server in self.servers.values():
            server.wait_ready()
        config = self.folder / "haproxy.cfg"
        ports = {name: server.port for name, server in self.servers.items()}
        config.write_text(balancer_config(self.port, ports))
        log = (self.folder / "haproxy.log").open("ab")
        self.balancer = subprocess.Popen([BINARY, "-db", "-f", str(config)], stdout=log, stderr=log)
        self.wait_all_up()

    def wait_all_up(self) -> None:
        """Until the balancer has sent requests to every process."""
        deadline = time.monotonic() + START_TIMEOUT
        seen: set[str] = set()
        while seen != set(self.servers):
            assert self.balancer is not None
            assert self.balancer.poll() is None, (self.folder / "haproxy.log").read_text()
            assert time.monotonic() < deadline, f"only {seen} answered"
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=5)
                seen.add(response.headers.get(SERVED_BY, ""))
            except httpx.TransportError:
                time.sleep(0.1)

    def logs(self) -> str:
        return "".join(server.log.read_text() for server in self.servers.values())

    def stop(self) -> None:
        if self.balancer is not None and self.balancer.poll() is None:
            self.balancer.terminate()
            self.balancer.wait(timeout=30)
        for server in self.servers.values():
            if server.running:
                server.stop()
