"""A clock for the token service that a test moves forward."""

from datetime import datetime, timedelta

from tenantry.auth.tokens import utcnow


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset
