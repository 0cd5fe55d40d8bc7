"""The caller's id types, as codecs: what the path and body ids are checked against."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from tenantry.auth.context import Caller
from tenantry.auth.errors import AuthenticationRequired, NoDatabaseSelected
from tenantry.data.flexible_ids import IdCodec, InvalidId, codec
from tenantry.errors import ValidationFailed


@dataclass(frozen=True)
class IdCodecs:
    item: IdCodec
    user: IdCodec


async def _id_codecs(context: Caller) -> IdCodecs:
    """Items and users belong to a database: the template (no credentials) has none."""
    if context.anonymous:
        raise AuthenticationRequired
    if context.database is None:
        raise NoDatabaseSelected
    return IdCodecs(codec(context.database.item_id_type), codec(context.database.user_id_type))


Ids = Annotated[IdCodecs, Depends(_id_codecs)]


def encoded(ids: IdCodec, value: object, field: str) -> bytes:
    """The stored form of one id; 400 naming `field` when it is not an id of the type."""
    try:
        return ids.encode(value)
    except InvalidId as error:
        raise invalid({field: [f"Not a {ids.type_name} id: {error}."]}) from error


def invalid(errors: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed(f"Not valid: {', '.join(sorted(errors))}.", errors=errors)
