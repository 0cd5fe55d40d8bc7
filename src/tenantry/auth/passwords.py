"""Password hashing with argon2id, off the event loop and taken in turns.

A hash or a check costs about 100 ms of CPU by design. It runs in a thread, so the loop
keeps serving other requests, and at most `SLOTS` run at once (one core is left to the
loop). Waiting callers are served one client address at a time, in turn: a burst of
logins from one address queues behind itself, not in front of everyone else.
"""

import asyncio
import os
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 256
SLOTS = max(1, (os.cpu_count() or 1) - 1)

_hasher = PasswordHasher()
# Checked against when no account matches, so that a miss costs what a hit does.
_DECOY = _hasher.hash("tenantry-decoy-password")


class FairGate:
    """At most `slots` holders at once; waiters are let in one client at a time, in turn."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @asynccontextmanager
    async def slot(self, client: str) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            turn = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(client, deque()).append(turn)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # handed a slot, then cancelled
                    self._release()
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            client, queue = next(iter(self._waiting.items()))
            turn = queue.popleft()
            if queue:
                self._waiting.move_to_end(client)  # its next caller waits for the others
            else:
                del self._waiting[client]
            if not turn.done():  # a cancelled waiter is skipped
                turn.set_result(None)
                return
        self._free += 1

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())


_gate = FairGate(SLOTS)


async def hash_password(password: str, *, client: str = "") -> str:
    async with _gate.slot(client):
        return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str, *, client: str) -> bool:
    """Whether `password` matches; with no hash (no such account) a decoy is checked all
    the same, so the answer takes as long either way."""
    async with _gate.slot(client):
        return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DECOY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
