"""Waiting for a change made elsewhere to reach the process."""

import asyncio
from collections.abc import Awaitable, Callable

WITHIN = 10.0  # seconds a notice may take to arrive on a loaded machine


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WITHIN
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.02)
