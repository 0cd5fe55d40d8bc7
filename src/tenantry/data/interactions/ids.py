"""The caller's id types for the routes of anonymous sessions: items, users and sessions."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from tenantry.auth.context import Caller, DatabaseRef
from tenantry.data.catalog.ids import Ids
from tenantry.data.flexible_ids import IdCodec, codec


@dataclass(frozen=True)
class SessionIdCodecs:
    item: IdCodec
    user: IdCodec
    session: IdCodec

    @classmethod
    def of(cls, database: DatabaseRef) -> "SessionIdCodecs":
        return cls(
            codec(database.item_id_type),
            codec(database.user_id_type),
            codec(database.session_id_type),
        )


async def _session_id_codecs(_: Ids, caller: Caller) -> SessionIdCodecs:
    """`Ids` (which refuses callers without a database), with the database's session id
    type, which comes with the caller's database as its other id types do."""
    assert caller.database is not None
    return SessionIdCodecs.of(caller.database)


SessionIds = Annotated[SessionIdCodecs, Depends(_session_id_codecs)]
