"""What the data-plane domains share."""

from typing import Any, TypeVar, get_args, get_type_hints

from pydantic import BaseModel, create_model, field_validator
from sqlalchemy import inspect
from sqlalchemy.orm import DeclarativeBase
from typing_extensions import TypedDict

from tenantry.db.base import DataPlaneBase, Timestamps
from tenantry.db.sessions import TenantSession

Row = TypeVar("Row", bound=DataPlaneBase)


def not_null(*fields: str) -> Any:
    """A validator refusing an explicit `null` for `fields`; leaving them out is fine."""

    def check(cls: type, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value

    return field_validator(*fields)(classmethod(check))


def read_model(name: str, mapped: type[DeclarativeBase], **computed: Any) -> type[BaseModel]:
    """The answer of a resource its repository reads with one query of every column of
    `mapped`'s table under the column's own name, plus `computed` (name=type) fields the
    query adds: a field per column, typed by the model's annotation, the record's times
    last. A column added to the model is a field of every answer with no other edit."""
    hints = get_type_hints(mapped)
    fields: dict[str, Any] = {}
    for attribute in inspect(mapped).column_attrs:
        (annotation,) = get_args(hints[attribute.key])  # Mapped[X] -> X
        fields[attribute.columns[0].name] = (annotation, ...)
    fields |= {field: (annotation, ...) for field, annotation in computed.items()}
    times = [field for field in get_type_hints(Timestamps) if field in fields]
    ordered = {field: fields[field] for field in fields if field not in times}
    return create_model(name, **ordered, **{field: fields[field] for field in times})


def rows_of(model: type[BaseModel]) -> Any:
    """A `TypedDict` of `model`'s fields: rows (dicts in the fields' order) are serialized
    by it exactly as `model` serializes, with no model made (a third of the time)."""
    fields = {name: field.annotation for name, field in model.model_fields.items()}
    return TypedDict(f"{model.__name__}Row", fields)  # type: ignore[operator]


async def add(session: TenantSession, row: Row) -> Row:
    """Insert `row`; what the database fills in (ids, timestamps) comes back by the
    INSERT's RETURNING (the mappers' `eager_defaults`)."""
    session.add(row)
    await session.flush()
    return row
