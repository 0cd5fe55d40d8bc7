"""Anonymous sessions: their interactions and their resolution to users, through the client,
for each id type (sessions, users and items alike)."""

import uuid
from typing import Any

import pytest
from xminds.api.client import AUTO_FRONTEND_ID, CrossingMindsApiClient
from xminds.api.exceptions import ForbiddenError, NotFoundError, WrongData

from tests.utils.factories import PASSWORD
from tests.utils.xminds import IdKind, json_client

pytestmark = pytest.mark.slow

T0 = 1_700_000_000.0


@pytest.fixture
def people(api: CrossingMindsApiClient, kind: IdKind) -> tuple[list[Any], list[Any]]:
    """Two users and three items in the client's database: their ids."""
    users, items = kind.ids(2), kind.ids(3, start=100)
    api.create_or_replace_users_bulk([{"user_id": u} for u in users])
    api.create_or_replace_items_bulk([{"item_id": i} for i in items])
    return users, items


def events(interactions: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(row[k] for k in keys) for row in interactions)


class TestSessions:
    def test_create_session_interaction_and_list_session_interactions(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        _, (a, b, _) = people
        session, other = kind.ids(2, start=500)
        api.create_session_interaction(session, a, "click", timestamp=T0)
        api.create_session_interaction(session, b, "view", timestamp=T0 + 1)
        api.create_session_interaction(other, b, "view", timestamp=T0 + 2)
        answer = api.list_session_interactions(session)
        assert answer["has_next"] is False
        assert events(answer["interactions"], "item_id", "interaction_type", "timestamp") == [
            (kind.returned(a), "click", T0),
            (kind.returned(b), "view", T0 + 1),
        ]

    def test_create_session_interactions_bulk_by_page(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        _, items = people
        session = kind.make(500)
        api.create_session_interactions_bulk(
            session,
            [
                {"item_id": i, "interaction_type": "view", "timestamp": T0 + n}
                for n, i in enumerate(items)
            ],
        )
        first = api.list_session_interactions(session, amt=2)
        assert first["has_next"] is True
        rest = api.list_session_interactions(session, amt=2, cursor=first["next_cursor"])
        assert rest["has_next"] is False
        listed = first["interactions"] + rest["interactions"]
        assert events(listed, "item_id", "timestamp") == [
            (kind.returned(i), T0 + n) for n, i in enumerate(items)
        ]

    def test_create_sessions_interactions_bulk_and_list_sessions_interactions(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        _, items = people
        sessions = kind.ids(2, start=500)
        sent = [
            {"session_id": s, "item_id": i, "interaction_type": "view", "timestamp": T0 + n}
            for n, (s, i) in enumerate((s, i) for s in sessions for i in items)
        ]
        answer = api.create_sessions_interactions_bulk(sent)
        assert isinstance(answer, dict)
        listed: list[dict[str, Any]] = []
        cursor = None
        for _ in range(6):
            page = api.list_sessions_interactions(amt=4, cursor=cursor)
            assert len(page["interactions"]) <= 4
            listed += page["interactions"]
            if not page["has_next"]:
                break
            cursor = page["next_cursor"]
        assert events(listed, "session_id", "item_id", "timestamp") == sorted(
            (kind.returned(s["session_id"]), kind.returned(s["item_id"]), s["timestamp"])
            for s in sent
        )
        window = api.list_sessions_interactions(start_timestamp=T0 + 0.5, end_timestamp=T0 + 1.5)
        assert events(window["interactions"], "timestamp") == [(T0 + 1,)]

    def test_resolve_session_and_list_resolved_sessions(
        self, api: CrossingMindsApiClient, kind: IdKind, people: tuple[list[Any], list[Any]]
    ) -> None:
        (user, other), _ = people
        session, second, third = kind.ids(3, start=500)
        assert api.resolve_session(user, session, timestamp=T0) is None
        api.resolve_session(user, second)
        api.resolve_session(other, third, timestamp=T0)
        mine = api.list_resolved_sessions_by_users([user])["resolved_sessions"]
        assert events(mine, "session_id", "user_id") == sorted(
            [
                (kind.returned(session), kind.returned(user)),
                (kind.returned(second), kind.returned(user)),
            ]
        )
        stamps = {r["session_id"]: r["timestamp"] for r in mine}
        assert stamps[kind.returned(session)] == T0
        assert stamps[kind.returned(second)] > T0
        everyone = api.list_resolved_sessions_by_users()
        assert len(everyone["resolved_sessions"]) == 3
        first = api.list_resolved_sessions_by_users(amt=2)
        assert len(first["resolved_sessions"]) == 2
        assert first["has_next"] is True
        rest = api.list_resolved_sessions_by_users(amt=2, cursor=first["next_cursor"])
        assert len(rest["resolved_sessions"]) == 1

    def test_a_frontend_login_with_a_session_resolves_it_and_acts_as_it(
        self,
        api: CrossingMindsApiClient,
        kind: IdKind,
        people: tuple[list[Any], list[Any]],
    ) -> None:
        """`login_service` with `frontend_user_id` and `frontend_session_id` resolves the
        session; `AUTO_FRONTEND_ID` (the path's `~me`) is then that session."""
        (user, _), (item, *_) = people
        session = kind.make(700)
        name = f"web-{uuid.uuid4().hex[:8]}"
        api.create_service_account(name, password=PASSWORD, role="frontend")
        frontend = json_client(api.api.host)
        answer = frontend.login_service(
            name,
            PASSWORD,
            db_id=api._database["id"],
            frontend_user_id=user,
            frontend_session_id=session,
        )
        assert answer["role"] == "frontend"
        resolved = api.list_resolved_sessions_by_users([user])["resolved_sessions"]
        assert [r["session_id"] for r in resolved] == [kind.returned(session)]
        frontend.create_session_interaction(AUTO_FRONTEND_ID, item, "click", timestamp=T0)
        listed = api.list_session_interactions(session)["interactions"]
        assert events(listed, "item_id", "interaction_type") == [(kind.returned(item), "click")]

    def test_auto_frontend_id_needs_a_frontend_login_naming_it(
        self,
        api: CrossingMindsApiClient,
        kind: IdKind,
        people: tuple[list[Any], list[Any]],
    ) -> None:
        """A login of another role, or one that named no session, has no `~me` session (a
        400 whose `error_data` names the path's parameter); a frontend login writes nothing
        but its own, and one naming a user who does not exist is refused."""
        (user, other), (item, *_) = people
        with pytest.raises(WrongData) as refused:
            api.create_session_interaction(AUTO_FRONTEND_ID, item, "click")
        assert refused.value.data["key"] == "session_id"
        with pytest.raises(WrongData):
            api.list_user_ratings(AUTO_FRONTEND_ID)
        name = f"web-{uuid.uuid4().hex[:8]}"
        api.create_service_account(name, password=PASSWORD, role="frontend")
        frontend = json_client(api.api.host)
        with pytest.raises(NotFoundError):
            frontend.login_service(
                name,
                PASSWORD,
                db_id=api._database["id"],
                frontend_user_id=kind.make(900),
                frontend_session_id=kind.make(700),
            )
        assert frontend.jwt_token is None  # refused: no login
        frontend.login_service(name, PASSWORD, db_id=api._database["id"], frontend_user_id=user)
        with pytest.raises(WrongData):
            frontend.create_session_interaction(AUTO_FRONTEND_ID, item, "click")
        with pytest.raises(ForbiddenError):
            frontend.create_interaction(other, item, "click")
        frontend.create_interaction(AUTO_FRONTEND_ID, item, "click", timestamp=T0)
        mine = frontend.list_user_interactions(AUTO_FRONTEND_ID)["interactions"]
        assert events(mine, "item_id", "interaction_type") == [(kind.returned(item), "click")]
        assert api.list_user_interactions(other)["interactions"] == []
        assert api.list_resolved_sessions_by_users()["resolved_sessions"] == []
