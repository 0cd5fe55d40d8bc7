"""What the data-plane domains share."""

from typing import Any, TypeVar

from pydantic import field_validator

from tenantry.db.base import DataPlaneBase
from tenantry.db.sessions import TenantSession

Row = TypeVar("Row", bound=DataPlaneBase)


def not_null(*fields: str) -> Any:
    """A validator refusing an explicit `null` for `fields`; leaving them out is fine."""

    def check(cls: type, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value

    return field_validator(*fields)(classmethod(check))


async def add(session: TenantSession, row: Row) -> Row:
    """Insert `row`; what the database fills in (ids, timestamps) comes back by the
    INSERT's RETURNING (the mappers' `eager_defaults`)."""
    session.add(row)
    await session.flush()
    return row
