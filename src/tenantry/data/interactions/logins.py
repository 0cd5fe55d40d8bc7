"""A login that names the app's user and anonymous session (`frontend_user_id`,
`frontend_session_id`) in a database: its part in the data plane. The control plane's
logins call `at_login` (the application hands it to them), outside their own transactions;
it runs in a transaction of its own on the database's lane."""

from tenantry.auth.context import DatabaseRef
from tenantry.auth.tokens import FrontendId
from tenantry.data.access import ready_schema
from tenantry.data.catalog.ids import encoded
from tenantry.data.interactions import service
from tenantry.data.interactions.ids import SessionIdCodecs
from tenantry.db.engine import Lanes
from tenantry.db.sessions import tenant_session


async def at_login(
    lanes: Lanes,
    database: DatabaseRef,
    user_id: FrontendId | None,
    session_id: FrontendId | None,
) -> None:
    """The ids named must be of the database's id types (400 naming `frontend_user_id` or
    `frontend_session_id`); with both, the session is resolved to the user now, as
    `POST sessions/{id}/resolve/` resolves it (the user must exist: 404)."""
    ids = SessionIdCodecs.of(database)
    if user_id is not None:
        encoded(ids.user, user_id, "frontend_user_id")
    if session_id is not None:
        encoded(ids.session, session_id, "frontend_session_id")
    if user_id is None or session_id is None:
        return
    schema = ready_schema(database)
    async with tenant_session(lanes.of(schema), schema) as session:
        await service.resolve(session, ids, str(session_id), user_id, None)
