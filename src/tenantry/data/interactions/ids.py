"""The caller's id types for the routes of anonymous sessions: items, users and sessions."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from tenantry.auth.context import Caller
from tenantry.data.catalog.ids import Ids
from tenantry.data.flexible_ids import IdCodec, codec


@dataclass(frozen=True)
class SessionIdCodecs:
    item: IdCodec
    user: IdCodec
    session: IdCodec


async def _session_id_codecs(ids: Ids, caller: Caller) -> SessionIdCodecs:
    """`Ids` (which refuses callers without a database), and the database's session id
    type, which comes with the caller's database as its other id types do."""
    assert caller.database is not None
    return SessionIdCodecs(ids.item, ids.user, codec(caller.database.session_id_type))


SessionIds = Annotated[SessionIdCodecs, Depends(_session_id_codecs)]
