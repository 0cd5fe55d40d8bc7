"""Declarative bases of the two planes.

Control-plane tables live in the fixed schema `tenantry`. Data-plane tables carry no schema:
every statement is bound to one database's schema (or the template) at execution time.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, Table, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CONTROL_SCHEMA = "tenantry"
TEMPLATE_SCHEMA = "public"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ControlPlaneBase(DeclarativeBase):
    metadata = MetaData(schema=CONTROL_SCHEMA, naming_convention=NAMING_CONVENTION)


class DataPlaneBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


KEPT_BY_TRIGGERS = {"info": {"kept_by_triggers": True}}
"""`__table_args__` of a data-plane table the triggers derive from the others: never copied
from the template nor loaded, since the triggers rebuild it as the rows it counts are copied
or loaded."""


def kept_by_triggers(table: Table) -> bool:
    return bool(table.info.get("kept_by_triggers"))


def stored_columns(table: Table) -> list[Column[Any]]:
    """The columns a row is written with: not those PostgreSQL generates from the others."""
    return [column for column in table.columns if column.computed is None]
