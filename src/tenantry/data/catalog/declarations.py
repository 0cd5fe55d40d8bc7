"""Declared item and user properties: `POST|GET /v1/{items|users}-properties/`,
`GET|DELETE /v1/{items|users}-properties/{name}/`. Services never commit.

A declaration cannot change; deleting one removes the property's values from every row in
the same transaction, so the name can be declared again with another type."""

from typing import Any

from tenantry.data.catalog import repository
from tenantry.data.catalog.ids import invalid
from tenantry.data.catalog.schemas import PropertyCreate, PropertyRead
from tenantry.data.catalog.service import Kind
from tenantry.data.catalog.value_types import checker
from tenantry.db.sessions import TenantSession
from tenantry.errors import Conflict, NotFound


class PropertyNotFound(NotFound):
    code = "PROPERTY_NOT_FOUND"
    default_detail = "No property of this name is declared."


class DuplicatedProperty(Conflict):
    code = "DUPLICATED_PROPERTY"
    default_detail = "A property of this name is already declared."


def _read(row: Any) -> PropertyRead:
    return PropertyRead(
        property_name=row.property_name,
        value_type=row.value_type,
        repeated=row.repeated,
        indexed=row.indexed,
    )


def _missing(kind: Kind, name: str) -> PropertyNotFound:
    return PropertyNotFound(
        f"No {kind.name} property is named {name}",
        data={"type": f"{kind.name}_property", "key": name},
    )


async def create(session: TenantSession, kind: Kind, body: PropertyCreate) -> PropertyRead:
    errors: dict[str, list[str]] = {}
    if body.property_name in ("item_id", "user_id"):
        errors["property_name"] = ["An id's name, not a property's."]
    try:
        checker(body.value_type)
    except ValueError as error:
        errors["value_type"] = [str(error)]
    if errors:
        raise invalid(errors)
    if not await repository.declare(session, kind.declared, body.model_dump()):
        raise DuplicatedProperty(
            f"The {kind.name} property {body.property_name} is already declared",
            data={"type": f"{kind.name}_property", "key": body.property_name},
        )
    return PropertyRead(**body.model_dump())


async def get(session: TenantSession, kind: Kind, name: str) -> PropertyRead:
    row = await repository.declaration(session, kind.declared, name)
    if row is None:
        raise _missing(kind, name)
    return _read(row)


async def list_all(session: TenantSession, kind: Kind) -> list[PropertyRead]:
    return [_read(row) for row in await repository.declarations(session, kind.declared)]


async def delete(session: TenantSession, kind: Kind, name: str) -> None:
    """Forget the declaration and remove its values from every row."""
    if not await repository.undeclare(session, kind.declared, name):
        raise _missing(kind, name)
    await repository.strip(session, kind.table, name)
