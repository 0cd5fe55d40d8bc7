"""Items, users and ratings as the admin panel maps them: their ids as the API writes them.

The ids are stored as bytes in the canonical encoding of `tenantry.data.flexible_ids`, and
the encoding depends on the database's id types. These mappings (on a metadata of their
own, over the same tables) turn the stored bytes into the API's text and back with the
logged-in database's codecs, so lists, URLs and forms show and accept the API's ids. The
template has no id types: its ids are shown as base64url of their bytes (`bytes64`).
"""

from typing import Any

from sqlalchemy import Float, ForeignKey, LargeBinary, MetaData, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from tenantry.admin.sessions import current_admin
from tenantry.data.flexible_ids import IdCodec, InvalidId, codec

TEMPLATE_ID_TYPE = "bytes64"


def _codec(kind: str, template: bool) -> IdCodec:
    admin = current_admin()
    if admin is None:
        raise InvalidId("no admin session is current")
    if template:
        return codec(TEMPLATE_ID_TYPE)
    database = admin.database
    return codec(database.item_id_type if kind == "item" else database.user_id_type)


class FlexibleId(TypeDecorator[str]):
    """A `bytea` id column, read and written as the API's text."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, kind: str, template: bool = False) -> None:
        super().__init__()
        self.kind = kind
        self.template = template

    @property
    def python_type(self) -> type[str]:
        return str

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        return _codec(self.kind, self.template).encode(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(_codec(self.kind, self.template).decode(value))


def _mappings(template: bool) -> tuple[type[Any], type[Any], type[Any]]:
    class Base(DeclarativeBase):
        metadata = MetaData()

    class Item(Base):
        __tablename__ = "items"

        item_id: Mapped[str] = mapped_column(FlexibleId("item", template), primary_key=True)
        properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))

    class User(Base):
        __tablename__ = "users"

        user_id: Mapped[str] = mapped_column(FlexibleId("user", template), primary_key=True)
        properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))

    class Rating(Base):
        __tablename__ = "ratings"

        user_id: Mapped[str] = mapped_column(
            FlexibleId("user", template), ForeignKey("users.user_id"), primary_key=True
        )
        item_id: Mapped[str] = mapped_column(
            FlexibleId("item", template), ForeignKey("items.item_id"), primary_key=True
        )
        rating: Mapped[float] = mapped_column(Float)
        timestamp: Mapped[float] = mapped_column(Float)

    return Item, User, Rating


Item, User, Rating = _mappings(template=False)
TemplateItem, TemplateUser, TemplateRating = _mappings(template=True)
