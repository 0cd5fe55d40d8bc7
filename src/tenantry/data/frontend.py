"""`~me` in a path: the user or the anonymous session of a frontend login (the id its login
named, `frontend_user_id` or `frontend_session_id`; the official client sends `~me` for
`AUTO_FRONTEND_ID`), and the writes a frontend login may make there.

Every route with a user or a session in its path takes `~me` for it. Only a caller of the
frontend role whose login named that id has one; any other caller is refused, 400
`NO_FRONTEND_ID` naming the path's parameter. A frontend login reads as the frontend role
does, and writes at `~me` only: its own user's ratings and interactions, its own session's
interactions (the routes whose session is `OwnWriter`).
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from tenantry.auth.connection import RequestConnection
from tenantry.auth.context import AuthContext, Caller
from tenantry.auth.errors import AuthenticationRequired
from tenantry.auth.tokens import FrontendId
from tenantry.data.access import data_schema
from tenantry.db.sessions import TenantSession, bound_session
from tenantry.errors import ValidationFailed
from tenantry.kernel.enums import Role

ME = "~me"


class NoFrontendId(ValidationFailed):
    code = "NO_FRONTEND_ID"
    default_detail = f"`{ME}` stands for an id a frontend login named; this caller has none."


@dataclass(frozen=True)
class _Own:
    """What `~me` stands for in one path parameter."""

    parameter: str
    what: str
    named_by: str


USER = _Own("user_id", "user", "frontend_user_id")
SESSION = _Own("session_id", "anonymous session", "frontend_session_id")


def _me(caller: AuthContext, own: _Own, value: FrontendId | None) -> str:
    """The id `~me` stands for, as a path carries it; refused when the caller has none."""
    if caller.anonymous:
        raise AuthenticationRequired(
            f"`{ME}` stands for the {own.what} of a frontend login: send its access token."
        )
    if caller.role != Role.FRONTEND:
        why = f"this caller's role is {caller.role}"
    elif value is not None:
        return str(value)
    elif caller.account_id is None:
        why = "an API key names none"
    else:
        why = f"this login named no `{own.named_by}`"
    message = (
        f"`{ME}` stands for the {own.what} that a login of the frontend role named "
        f"(`{own.named_by}`); {why}."
    )
    raise NoFrontendId(message, errors={own.parameter: [message]})


async def _user_id(
    user_id: Annotated[
        str,
        Path(
            max_length=200,
            description=f"An id of the user_id_type, or `{ME}`: the user of a frontend login.",
        ),
    ],
    caller: Caller,
) -> str:
    return user_id if user_id != ME else _me(caller, USER, caller.frontend_user_id)


async def _session_id(
    session_id: Annotated[
        str,
        Path(
            max_length=200,
            description=f"An id of the session_id_type, or `{ME}`: the anonymous session of a "
            "frontend login.",
        ),
    ],
    caller: Caller,
) -> str:
    return session_id if session_id != ME else _me(caller, SESSION, caller.frontend_session_id)


UserId = Annotated[str, Depends(_user_id)]
"""The path's `{user_id}`, with `~me` replaced by the frontend login's user."""
SessionId = Annotated[str, Depends(_session_id)]
"""The path's `{session_id}`, with `~me` replaced by the frontend login's session."""


async def _own_writer(
    context: Caller, connection: RequestConnection, request: Request
) -> AsyncIterator[TenantSession]:
    own = ME in (
        request.path_params.get(USER.parameter),
        request.path_params.get(SESSION.parameter),
    )
    async with bound_session(connection, data_schema(context, write=True, own=own)) as session:
        yield session


OwnWriter = Annotated[TenantSession, Depends(_own_writer, scope="function")]
"""`DataWriter`, which a frontend login passes too when the path's user or session is `~me`:
its own."""
