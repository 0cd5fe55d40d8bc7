"""What each process remembers about the credentials it has checked.

A hot request should not ask the database who its API key is. Each entry lives for a
short TTL and is dropped sooner when PostgreSQL says that something it was built from
changed: triggers on keys, accounts, databases and schemas `NOTIFY tenantry_auth` with the
id of what changed (migration 0006), and every process listens. While the listening
connection is down nothing is cached, so a missed notice can't leave a revoked key working.

An ended login (its refresh-token family revoked) is told as `family:<id>` (migration
0010): its access tokens are refused until they expire, with no round trip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Hashable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.db.sessions import detached_session

if TYPE_CHECKING:
    from tenantry.auth.context import AuthContext

CHANNEL = "tenantry_auth"
EVERYTHING = "*"
FAMILY = "family:"
APPLICATION_NAME = "tenantry-notices"
logger = logging.getLogger("tenantry.auth")
ENDED_LATELY = """
    SELECT family_id, max(revoked_at) AS revoked_at FROM tenantry.refresh_tokens
    WHERE revoked_at > now() - make_interval(secs => $1) GROUP BY family_id
"""
RECORD_LAST_USED = text("""
    UPDATE tenantry.api_keys AS k SET last_used_at = used.at
    FROM unnest(CAST(:ids AS text[]), CAST(:times AS timestamptz[])) AS used (id, at)
    WHERE k.id = used.id AND (k.last_used_at IS NULL OR k.last_used_at < used.at)
""")


@dataclass(frozen=True)
class Entry:
    context: AuthContext
    secret_hash: str | None  # keys: the stored hash the presented key must match
    expires_at: datetime | None  # keys: their own expiry
    fresh_until: float  # monotonic


class AuthCache:
    """Credentials -> `AuthContext`, each entry tagged with the ids it was built from."""

    def __init__(self, ttl: float, *, token_lifetime: float, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.token_lifetime = token_lifetime  # how long an ended login is remembered
        self.max_entries = max_entries
        self.listening = False
        self.generation = 0  # moves on every invalidation
        self._entries: dict[Hashable, Entry] = {}
        self._by_tag: defaultdict[str, set[Hashable]] = defaultdict(set)
        self._ended: dict[str, float] = {}  # refresh-token family -> monotonic deadline

    def end_login(self, family_id: str, *, ago: float = 0.0) -> None:
        """Refuse the access tokens of `family_id` from now until the last can expire."""
        now = time.monotonic()
        if len(self._ended) >= self.max_entries:
            self._ended = {family: end for family, end in self._ended.items() if end > now}
        self._ended[family_id] = now + self.token_lifetime - ago

    def ended(self, family_id: str) -> bool:
        deadline = self._ended.get(family_id)
        return deadline is not None and deadline > time.monotonic()

    def notice(self, payload: str) -> None:
        """What a NOTIFY on `tenantry_auth` said."""
        if payload.startswith(FAMILY):
            self.end_login(payload.removeprefix(FAMILY))
        else:
            self.invalidate(payload)

    def get(self, credential: Hashable) -> Entry | None:
        entry = self._entries.get(credential)
        if entry is None:
            return None
        if entry.fresh_until < time.monotonic():
            del self._entries[credential]
            return None
        return entry

    def put(
        self,
        credential: Hashable,
        context: AuthContext,
        *,
        generation: int,
        tags: Iterable[str],
        secret_hash: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        """Remember `context`, unless something changed since `generation` was read."""
        if not self.listening or generation != self.generation or self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self.clear()
        self._entries[credential] = Entry(
            context, secret_hash, expires_at, time.monotonic() + self.ttl
        )
        for tag in tags:
            self._by_tag[tag].add(credential)

    def invalidate(self, tag: str) -> None:
        self.generation += 1
        if tag == EVERYTHING:
            self.clear()
            return
        for credential in self._by_tag.pop(tag, ()):
            self._entries.pop(credential, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._by_tag.clear()

    def __len__(self) -> int:
        return len(self._entries)


class Listener:
    """Keeps a connection LISTENing on `tenantry_auth`, and the cache's `listening` true only
    while it does."""

    RETRY_SECONDS = 1.0
    PING_SECONDS = 30.0

    def __init__(self, cache: AuthCache, dsn: str) -> None:
        self.cache = cache
        self.dsn = dsn
        self.connected = asyncio.Event()

    def _notice(self, connection: object, pid: int, channel: str, payload: str) -> None:
        self.cache.notice(payload)

    def _lost(self, connection: object) -> None:
        self.cache.listening = False
        self.cache.clear()

    async def run(self) -> None:
        while True:
            try:
                connection = await asyncpg.connect(
                    self.dsn, server_settings={"application_name": APPLICATION_NAME}
                )
            except (OSError, asyncpg.PostgresError) as error:
                logger.warning("auth notices unavailable", extra={"fields": {"error": str(error)}})
                await asyncio.sleep(self.RETRY_SECONDS)
                continue
            try:
                await self._listen(connection)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                logger.warning("auth notices lost", extra={"fields": {"error": str(error)}})
            finally:
                self._lost(connection)
                self.connected.clear()
                await connection.close(timeout=1)

    async def _listen(self, connection: asyncpg.Connection) -> None:
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _: closed.set())
        await connection.add_listener(CHANNEL, self._notice)
        self.cache.clear()
        await self._read_ended_logins(connection)  # what was told before this listened
        self.cache.listening = True
        self.connected.set()
        while not closed.is_set():
            with suppress(TimeoutError):  # not wait_for: on 3.11 it can swallow a cancel
                async with asyncio.timeout(self.PING_SECONDS):
                    await closed.wait()
            if not closed.is_set():
                await connection.execute("SELECT 1")  # a dead peer shows up here

    async def _read_ended_logins(self, connection: asyncpg.Connection) -> None:
        horizon = self.cache.token_lifetime
        now = datetime.now(UTC)
        for row in await connection.fetch(ENDED_LATELY, horizon):
            ago = (now - row["revoked_at"]).total_seconds()
            self.cache.end_login(row["family_id"], ago=max(ago, 0.0))


class LastUsed:
    """When keys were last used, written in batches: at most once per `interval` seconds,
    one statement for all keys used since."""

    def __init__(self, engine: AsyncEngine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self._pending: dict[str, float] = {}

    def touch(self, key_id: str) -> None:
        self._pending[key_id] = time.time()

    async def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        async with detached_session(self.engine) as session:
            await session.execute(
                RECORD_LAST_USED,
                {
                    "ids": list(pending),
                    "times": [datetime.fromtimestamp(at, UTC) for at in pending.values()],
                },
            )

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception:
                logger.exception("could not record when keys were last used")
