"""Password hashing with argon2id, off the event loop and taken in turns.

A hash or a check costs about 100 ms of CPU by design. It runs in a thread, so the loop
keeps serving other requests, and at most `SLOTS` run at once (one core is left to the
loop). Waiting callers are served one client address at a time, in turn: a burst of
logins from one address queues behind itself, not in front of everyone else.
"""

import asyncio
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tenantry.fair import FairGate

MIN_LENGTH = 8
MAX_LENGTH = 256
SLOTS = max(1, (os.cpu_count() or 1) - 1)

_hasher = PasswordHasher()
# Checked against when no account matches, so that a miss costs what a hit does.
_DECOY = _hasher.hash("tenantry-decoy-password")


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
