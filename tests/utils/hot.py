"""How many requests the hot layer answered itself."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from tenantry.hot import HotReads


class Served:
    """How many requests of `endpoint`'s routes the hot layer answered during a block (the
    application must have answered a request already, so that its layers are built)."""

    def __init__(self, app: FastAPI, endpoint: Callable[..., Any]) -> None:
        self.hot: HotReads = app.state.hot_reads
        self.endpoint = endpoint
        self.before = self.hot.served(endpoint)

    @property
    def count(self) -> int:
        return self.hot.served(self.endpoint) - self.before
