"""What the browser tests share: Debian's Chromium, where screenshots go, and a guard that
keeps a page's requests on the server under test."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[1] / "e2e" / "artifacts"  # screenshots (tests/e2e/artifacts)


class OnlyThisServer:
    """A page's route handler: requests to the server under test go through; any other is
    refused and kept in `elsewhere`, which a test asserts is empty."""

    def __init__(self, base: str) -> None:
        self.host = urlsplit(base).netloc
        self.elsewhere: list[str] = []

    def __call__(self, route: Any) -> None:
        if urlsplit(route.request.url).netloc == self.host:
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort()
