"""Requests per API key, and registrations per client address: fixed windows, counted
in this process or in Redis.

A fixed window is one counter per key: a request is one increment (in Redis, one round
trip: `limits`' Lua script that also sets the window's expiry), and the count it returns
gives `remaining` exactly. When the window ends is the same for the whole window, so a
process asks Redis for it (a `TTL`) once per key and window, not once per request.
"""

import logging
import math
import time
from typing import TYPE_CHECKING, Protocol

from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.errors import StorageError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tenantry.kernel.rate_limits import Usage, parse_limit

if TYPE_CHECKING:
    from tenantry.config import Settings

logger = logging.getLogger("tenantry.rate_limits")

RETRY_STORAGE_AFTER = 1.0  # seconds without trying Redis after it failed
WARN_EVERY = 60.0  # seconds between two warnings that requests are not limited
REDIS_TIMEOUT = 0.5  # seconds: a request waits no longer for Redis than this
MAX_REMEMBERED_WINDOWS = 100_000


class Counters(Protocol):
    """What the limiter needs of a `limits` storage (a fixed window's)."""

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int: ...

    async def get_expiry(self, key: str) -> float: ...


class _Window:
    __slots__ = ("count", "ends")

    def __init__(self, count: int, ends: float) -> None:
        self.count = count
        self.ends = ends


class ProcessCounters:
    """Fixed windows in this process's memory, at constant cost per request. (`limits`'
    own MemoryStorage sweeps every key for expired ones on each increment: 4.7 ms a
    request with 10,000 keys.) Expired windows are swept once per window length."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._sweep_at = 0.0

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        window = self._windows.get(key)
        if window is not None and window.ends > now:
            window.count += amount
            return window.count
        if now >= self._sweep_at:
            self._windows = {k: w for k, w in self._windows.items() if w.ends > now}
            self._sweep_at = now + expiry
        self._windows[key] = _Window(amount, now + expiry)
        return amount

    async def get_expiry(self, key: str) -> float:
        window = self._windows.get(key)
        return window.ends if window is not None else time.time()


def counters_for(redis_url: str | None, *, prefix: str) -> Counters:
    """In this process's memory, or in the Redis of `redis_url`, shared by every process."""
    if redis_url is None:
        return ProcessCounters()
    return RedisStorage(
        "async+" + redis_url.replace("unix://", "redis+unix://", 1),
        implementation="redispy",
        key_prefix=prefix,
        wrap_exceptions=True,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), retries=0),  # type: ignore[arg-type]  # fail open at once
    )


class RateLimiter:
    """Counts requests per key in fixed windows of `item`, under `namespace` in the
    storage. When the storage cannot be reached, requests go through unlimited (fail
    open), with a warning in the log."""

    def __init__(self, item: RateLimitItem, storage: Counters, *, namespace: str = "") -> None:
        self.item = item
        self.storage = storage
        self.namespace = (namespace,) if namespace else ()
        self.window = item.get_expiry()
        self._ends: dict[str, float] = {}  # key -> when its current window ends (time.time())
        self._retry_at = 0.0
        self._warned_at: float | None = None

    async def hit(self, key_id: str) -> Usage | None:
        """Count one request of `key_id`; None when the storage is unavailable."""
        if self._retry_at and time.monotonic() < self._retry_at:
            return None
        key = self.item.key_for(*self.namespace, key_id)
        try:
            count = await self.storage.incr(key, self.window)
            ends = self._ends.get(key)
            if count == 1:
                ends = time.time() + self.window
                self._remember(key, ends)
            elif ends is None or ends <= time.time():  # a window another process started
                ends = await self.storage.get_expiry(key)
                self._remember(key, ends)
        except (StorageError, OSError) as error:
            self._unavailable(error)
            return None
        if self._retry_at:
            self._retry_at = 0.0
            logger.info("rate limits available again")
        limit = self.item.amount
        reset = min(max(math.ceil(ends - time.time()), 1), self.window)  # TTL is rounded
        return Usage(limit, max(limit - count, 0), reset, self.window, count <= limit)

    def _remember(self, key: str, ends: float) -> None:
        if len(self._ends) >= MAX_REMEMBERED_WINDOWS:
            self._ends.clear()
        self._ends[key] = ends

    def _unavailable(self, error: Exception) -> None:
        now = time.monotonic()
        self._retry_at = now + RETRY_STORAGE_AFTER
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            logger.warning(
                "rate limits unavailable: requests are not limited",
                extra={"fields": {"error": str(error), "retry_in_s": RETRY_STORAGE_AFTER}},
            )


def settings_counters(settings: "Settings") -> Counters:
    """The counters the settings name (Redis, or this process's memory)."""
    return counters_for(settings.redis_url, prefix=settings.redis_prefix)


def rate_limiter(settings: "Settings", counters: Counters | None = None) -> RateLimiter | None:
    """The limiter of requests per API key, or None when they are not limited."""
    item = parse_limit(settings.rate_limit)
    if item is None:
        return None
    if counters is None:
        counters = settings_counters(settings)
    return RateLimiter(item, counters)


def registration_limiter(
    settings: "Settings", counters: Counters | None = None
) -> RateLimiter | None:
    """The limiter of registrations per client address, or None when they are not limited."""
    item = parse_limit(settings.registration_limit)
    if item is None:
        return None
    if counters is None:
        counters = settings_counters(settings)
    return RateLimiter(item, counters, namespace="registration")
