"""Rate limits as settings write them, and where a key stands in its window: what the
settings, the request's context, the limiter and the response headers share."""

from dataclasses import dataclass

from limits import RateLimitItem, parse


@dataclass(frozen=True, slots=True)
class Usage:
    """Where a key stands in its window, counting the request at hand."""

    limit: int
    remaining: int
    reset: int  # whole seconds until the window ends, at least 1
    window: int  # seconds
    allowed: bool

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        limit, remaining, reset = b"%d" % self.limit, b"%d" % self.remaining, b"%d" % self.reset
        return [
            (b"ratelimit-limit", limit),
            (b"ratelimit-remaining", remaining),
            (b"ratelimit-reset", reset),
            (b"x-ratelimit-limit", limit),
            (b"x-ratelimit-remaining", remaining),
            (b"x-ratelimit-reset", reset),
            (b"x-ratelimit-window", b"%d" % self.window),
        ]

    def headers(self) -> dict[str, str]:
        return {name.decode(): value.decode() for name, value in self.raw_headers()}


def parse_limit(notation: str | None) -> RateLimitItem | None:
    """`"1200/minute"` (the `limits` library's notation) as a limit; "none" or "" as None.
    ValueError for anything else."""
    if notation is None or notation.strip().lower() in ("", "none"):
        return None
    try:
        item = parse(notation)
    except ValueError as error:
        raise ValueError(f"{notation!r} is not a rate limit like '1200/minute'") from error
    if item.amount < 1:
        raise ValueError("a rate limit must allow at least one request")
    return item
