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
    """Insert `row` and read back what the database filled in (ids, timestamps)."""
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row
