"""Accounts, organizations and logins as the Crossing Minds client calls them: accounts named
by email or service name in the body, service accounts' keys, the codes mailed to reset a
password or verify an email, `login/root/` and `login/jwt/`."""

import uuid
from datetime import timedelta

import httpx
import pytest

from tests.utils.clock import Clock
from tests.utils.factories import (
    PASSWORD,
    Registration,
    add_account,
    add_to_catalog,
    bearer,
    register,
    unique_email,
    wait_for_status,
)
from tests.utils.mail import MailBox
from tests.utils.problems import assert_problem

NEW_PASSWORD = "another long enough secret"


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/v1/login/individual/", json={"email": email, "password": password})


async def add_service(client: httpx.AsyncClient, org: Registration, **fields: object) -> str:
    name = f"svc-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "role": "backend"} | fields
    response = await client.post("/v1/accounts/service/", headers=org.bearer, json=body)
    assert response.status_code == 201, response.text
    return name


class TestIndividualAccounts:
    async def test_created_with_names_and_metadata(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        email = unique_email("ann")
        response = await client.post(
            "/v1/accounts/individual/",
            headers=registered.bearer,
            json={
                "email": email,
                "password": PASSWORD,
                "first_name": "Ann",
                "last_name": "Lee",
                "metadata": {"team": ["a"]},
                "email_redirect_url": "https://app.example.com/verify",
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["id"]
        assert body["role"] == "backend"
        assert (body["first_name"], body["last_name"]) == ("Ann", "Lee")
        assert body["metadata"] == {"team": ["a"]}
        assert body["verified"] is False

    async def test_a_duplicated_email_names_itself(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        body = {"email": unique_email("twice"), "password": PASSWORD, "role": "backend"}
        first = await client.post("/v1/accounts/individual/", headers=registered.bearer, json=body)
        assert first.status_code == 201, first.text
        again = await client.post("/v1/accounts/individual/", headers=registered.bearer, json=body)
        problem = assert_problem(again, 400, "DUPLICATED_ACCOUNT")
        assert problem["error_code"] == 42  # DuplicatedError: 'The {type} {key} is duplicated'
        assert problem["error_data"]["type"] == "individual account"
        assert problem["error_data"]["key"] == body["email"]
        assert list(problem["errors"]) == ["email"]

    async def test_patch_by_email_in_the_body(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        account = await add_account(client, registered.bearer, "backend")
        response = await client.patch(
            "/v1/accounts/individual/",
            headers=registered.bearer,
            json={
                "email": account.email.upper(),
                "first_name": ["Bo"],  # xminds 0.6 sends a name as a one-element list
                "last_name": "Chen",
                "metadata": {"x": 1},
                "password": NEW_PASSWORD,
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["first_name"] == "Bo"
        assert (await login(client, account.email, NEW_PASSWORD)).status_code == 200
        assert (await login(client, account.email)).status_code == 401

    async def test_anyone_edits_their_own_names_not_their_role(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        account = await add_account(client, registered.bearer, "backend")
        own = bearer((await login(client, account.email)).json()["token"])
        ok = await client.patch(
            "/v1/accounts/individual/", headers=own, json={"email": account.email, "last_name": "Z"}
        )
        assert ok.status_code == 200, ok.text
        promote = await client.patch(
            "/v1/accounts/individual/",
            headers=own,
            json={"email": account.email, "role": "manager"},
        )
        assert_problem(promote, 403, "ROLE_FORBIDDEN")
        other = await add_account(client, registered.bearer, "backend")
        response = await client.patch(
            "/v1/accounts/individual/", headers=own, json={"email": other.email, "last_name": "Z"}
        )
        assert_problem(response, 403, "ROLE_FORBIDDEN")

    async def test_delete_by_email_in_the_body(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        account = await add_account(client, registered.bearer, "frontend")
        response = await client.request(
            "DELETE",
            "/v1/accounts/individual/",
            headers=registered.bearer,
            json={"email": account.email},
        )
        assert response.status_code == 204, response.text
        assert (await login(client, account.email)).status_code == 401
        again = await client.request(
            "DELETE",
            "/v1/accounts/individual/",
            headers=registered.bearer,
            json={"email": account.email},
        )
        body = assert_problem(again, 404, "ACCOUNT_NOT_FOUND")
        assert body["error_data"] == {
            "name": "ACCOUNT_NOT_FOUND",
            "type": "account",
            "key": account.email,
        }

    async def test_the_root_is_not_deleted_nor_changed_by_others(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        response = await client.request(
            "DELETE",
            "/v1/accounts/individual/",
            headers=registered.bearer,
            json={"email": registered.email},
        )
        assert_problem(response, 400, "ROOT_IS_UNIQUE")
        manager = await add_account(client, registered.bearer, "manager")
        token = bearer((await login(client, manager.email)).json()["token"])
        response = await client.patch(
            "/v1/accounts/individual/",
            headers=token,
            json={"email": registered.email, "password": NEW_PASSWORD},
        )
        assert_problem(response, 400, "ROOT_IS_UNIQUE")
        assert (await login(client, registered.email)).status_code == 200

    async def test_another_organizations_account_is_not_found(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        other = await register(client)
        account = await add_account(client, other.bearer, "backend")
        for method, body in (
            ("PATCH", {"email": account.email, "last_name": "X"}),
            ("DELETE", {"email": account.email}),
        ):
            response = await client.request(
                method, "/v1/accounts/individual/", headers=registered.bearer, json=body
            )
            assert_problem(response, 404, "ACCOUNT_NOT_FOUND")
        assert (await login(client, account.email)).status_code == 200

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "not-an-email", "first_name": "x"},
            {"email": "a@example.com", "first_name": "x" * 201},
            {"email": "a@example.com", "metadata": [1]},
            {"email": "a@example.com", "role": "root"},
            {"email": "a@example.com", "nickname": "x"},
        ],
    )
    async def test_bad_bodies_change_nothing(
        self, client: httpx.AsyncClient, registered: Registration, body: dict[str, object]
    ) -> None:
        response = await client.patch(
            "/v1/accounts/individual/", headers=registered.bearer, json=body
        )
        assert response.status_code in (400, 404), response.text
        assert response.headers["content-type"] == "application/problem+json"

    async def test_words_are_not_taken_for_ids(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        response = await client.get("/v1/accounts/individual/", headers=registered.bearer)
        assert_problem(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"] == "POST, PATCH, DELETE"


class TestServiceAccounts:
    async def test_created_without_password_listed_deleted_by_name(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        name = await add_service(client, registered, metadata={"app": "shop"})
        listed = await client.get("/v1/organizations/accounts/", headers=registered.bearer)
        assert listed.status_code == 200
        (service,) = listed.json()["service_accounts"]
        assert service["name"] == name
        assert service["metadata"] == {"app": "shop"}
        assert service["keys"] == []
        response = await client.request(
            "DELETE", "/v1/accounts/service/", headers=registered.bearer, json={"name": name}
        )
        assert response.status_code == 204
        again = await client.request(
            "DELETE", "/v1/accounts/service/", headers=registered.bearer, json={"name": name}
        )
        body = assert_problem(again, 404, "ACCOUNT_NOT_FOUND")
        assert (body["error_data"]["type"], body["error_data"]["key"]) == ("service account", name)

    async def test_a_duplicated_name_names_itself(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        name = await add_service(client, registered)
        again = await client.post(
            "/v1/accounts/service/", headers=registered.bearer, json={"name": name}
        )
        problem = assert_problem(again, 400, "DUPLICATED_ACCOUNT")
        assert (problem["error_data"]["type"], problem["error_data"]["key"]) == (
            "service account",
            name,
        )

    async def test_default_role_is_frontend(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        response = await client.post(
            "/v1/accounts/service/", headers=registered.bearer, json={"name": "front-1x"}
        )
        assert response.status_code == 201
        assert response.json()["role"] == "frontend"

    async def test_patch_by_name(self, client: httpx.AsyncClient, registered: Registration) -> None:
        name = await add_service(client, registered)
        response = await client.patch(
            "/v1/accounts/service/",
            headers=registered.bearer,
            json={"name": name, "password": NEW_PASSWORD},
        )
        assert response.status_code == 200, response.text
        login_ = await client.post(
            "/v1/login/service/", json={"name": name, "password": NEW_PASSWORD}
        )
        assert login_.status_code == 200


class TestServiceAccountKeys:
    async def test_a_key_logs_in_and_its_deletion_ends_the_login(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        name = await add_service(client, registered)
        created = await client.post(
            "/v1/accounts/service/keys/",
            headers=registered.bearer,
            json={"name": name, "metadata": {"description": "ci"}},
        )
        assert created.status_code == 201, created.text
        key = created.json()
        assert key["key"].startswith("tsk_")
        assert key["metadata"] == {"description": "ci"}
        assert key["expiration_timestamp"] is None
        assert key["is_expired"] is False
        logged = await client.post(
            "/v1/login/service/",
            json={"name": name, "password": key["key"], "db_id": registered.database_id},
        )
        assert logged.status_code == 200, logged.text
        token = bearer(logged.json()["token"])
        assert (await client.get("/v1/whoami/", headers=token)).status_code == 200
        listed = (await client.get("/v1/organizations/accounts/", headers=registered.bearer)).json()
        assert [k["id"] for k in listed["service_accounts"][0]["keys"]] == [key["id"]]
        assert "key" not in listed["service_accounts"][0]["keys"][0]

        deleted = await client.delete(
            f"/v1/accounts/service/keys/{key['id']}/", headers=registered.bearer
        )
        assert deleted.status_code == 204
        assert_problem(await client.get("/v1/whoami/", headers=token), 401, "INVALID_CREDENTIALS")
        refused = await client.post(
            "/v1/login/service/", json={"name": name, "password": key["key"]}
        )
        assert_problem(refused, 401, "INVALID_CREDENTIALS")
        refresh = await client.post(
            "/v1/login/refresh-token/", json={"refresh_token": logged.json()["refresh_token"]}
        )
        assert_problem(refresh, 401, "INVALID_CREDENTIALS")

    async def test_an_expired_key_logs_in_no_more(
        self, client: httpx.AsyncClient, registered: Registration, clock: Clock
    ) -> None:
        name = await add_service(client, registered)
        expiry = (clock() + timedelta(hours=1)).timestamp()
        key = (
            await client.post(
                "/v1/accounts/service/keys/",
                headers=registered.bearer,
                json={"name": name, "expiration_timestamp": expiry},
            )
        ).json()
        assert key["expire_timestamp"] == pytest.approx(expiry)
        clock.offset += timedelta(hours=2)
        refused = await client.post(
            "/v1/login/service/", json={"name": name, "password": key["key"]}
        )
        assert_problem(refused, 401, "INVALID_CREDENTIALS")

    async def test_keys_of_another_organization_are_not_found(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        other = await register(client)
        name = await add_service(client, other)
        key = (
            await client.post(
                "/v1/accounts/service/keys/", headers=other.bearer, json={"name": name}
            )
        ).json()
        mine = await client.post(
            "/v1/accounts/service/keys/", headers=registered.bearer, json={"name": name}
        )
        assert_problem(mine, 404, "ACCOUNT_NOT_FOUND")
        response = await client.delete(
            f"/v1/accounts/service/keys/{key['id']}/", headers=registered.bearer
        )
        body = assert_problem(response, 404, "SERVICE_KEY_NOT_FOUND")
        assert body["error_data"]["key"] == key["id"]
        logged = await client.post(
            "/v1/login/service/", json={"name": name, "password": key["key"]}
        )
        assert logged.status_code == 200

    @pytest.mark.parametrize("expiry", [-5, 0, 4e9, "soon"])
    async def test_bad_expiry(
        self, client: httpx.AsyncClient, registered: Registration, expiry: object
    ) -> None:
        name = await add_service(client, registered)
        response = await client.post(
            "/v1/accounts/service/keys/",
            headers=registered.bearer,
            json={"name": name, "expiration_timestamp": expiry},
        )
        assert_problem(response, 400, "VALIDATION_ERROR")

    async def test_a_past_expiry(
        self, client: httpx.AsyncClient, registered: Registration, clock: Clock
    ) -> None:
        name = await add_service(client, registered)
        past = (clock() - timedelta(seconds=1)).timestamp()
        response = await client.post(
            "/v1/accounts/service/keys/",
            headers=registered.bearer,
            json={"name": name, "expiration_timestamp": past},
        )
        assert_problem(response, 400, "BAD_REQUEST")
        listed = (await client.get("/v1/organizations/accounts/", headers=registered.bearer)).json()
        assert listed["service_accounts"][0]["keys"] == []

    async def test_only_root_and_managers(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        name = await add_service(client, registered)
        response = await client.post(
            "/v1/accounts/service/keys/", headers=registered.key, json={"name": name}
        )
        assert_problem(response, 403, "ROLE_FORBIDDEN")


class TestOrganization:
    async def test_accounts_as_the_client_lists_them(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        await add_account(client, registered.bearer, "manager")
        for path in ("/v1/organizations/accounts/", "/v1/organizations/current/accounts/"):
            body = (await client.get(path, headers=registered.bearer)).json()
            people = body["individual_accounts"]
            assert [p["role"] for p in people] == ["root", "manager"]
            assert set(people[0]) >= {"first_name", "last_name", "email", "role", "verified"}
            assert body["service_accounts"] == []

    async def test_accounts_of_one_organization_only(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        other = await register(client)
        await add_account(client, other.bearer, "manager")
        body = (await client.get("/v1/organizations/accounts/", headers=registered.bearer)).json()
        assert [p["email"] for p in body["individual_accounts"]] == [registered.email]

    async def test_metadata_merged(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        path = "/v1/organizations/current/"
        first = await client.patch(
            path, headers=registered.bearer, json={"metadata": {"a": [1], "b": 1}}
        )
        assert first.status_code == 200, first.text
        preview = await client.patch(
            path + "preview/",
            headers=registered.bearer,
            json={"metadata": {"a": [2]}, "preserve": True},
        )
        assert preview.json() == {
            "metadata_old": {"a": [1], "b": 1},
            "metadata_new": {"a": [1, 2], "b": 1},
        }
        await client.patch(path, headers=registered.bearer, json={"metadata": {"b": None, "c": 2}})
        body = (await client.get(path, headers=registered.key)).json()
        assert body["metadata"] == {"a": [1], "c": 2}
        other = await register(client)
        assert (await client.get(path, headers=other.bearer)).json()["metadata"] == {}

    @pytest.mark.parametrize("body", [{}, {"metadata": [1]}, {"metadata": {}, "preserve": "x"}])
    async def test_bad_update(
        self, client: httpx.AsyncClient, registered: Registration, body: dict[str, object]
    ) -> None:
        response = await client.patch(
            "/v1/organizations/current/", headers=registered.bearer, json=body
        )
        assert_problem(response, 400, "VALIDATION_ERROR")

    async def test_backend_may_not_update(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        response = await client.patch(
            "/v1/organizations/current/", headers=registered.key, json={"metadata": {"a": 1}}
        )
        assert_problem(response, 403, "ROLE_FORBIDDEN")


class TestLogins:
    async def test_login_root(self, client: httpx.AsyncClient, registered: Registration) -> None:
        response = await client.post(
            "/v1/login/root/", json={"email": registered.email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        assert response.json()["org_id"] == registered.body["org_id"]
        assert response.json().get("database") is None
        wrong = await client.post(
            "/v1/login/root/", json={"email": registered.email, "password": "wrong one!"}
        )
        assert_problem(wrong, 401, "INVALID_CREDENTIALS")

    async def test_login_jwt_with_frontend_ids(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        user, session = str(uuid.uuid4()), "0b7c4a3e-5f8e-4c52-9a3c-8a1e0f1b2c3d"
        await wait_for_status(client, registered.key)
        await add_to_catalog(client, registered.key, "user", [user])  # the session's resolved
        logged = await client.post(
            "/v1/login/individual/",
            json={
                "email": registered.email,
                "password": PASSWORD,
                "db_id": registered.database_id,
                "frontend_user_id": user,
                "frontend_session_id": session,
            },
        )
        assert logged.status_code == 200, logged.text
        body = (await client.post("/v1/login/jwt/", headers=bearer(logged.json()["token"]))).json()
        assert body["org_id"] == registered.body["org_id"]
        assert body["account"] == {"id": registered.body["account_id"], "role": "root"}
        assert body["database"]["id"] == registered.database_id
        assert body["database"]["session_id_type"] == "uuid"
        assert body["frontend_user_id"] == user
        assert body["frontend_session_id"] == session
        refreshed = await client.post(
            "/v1/login/refresh-token/", json={"refresh_token": logged.json()["refresh_token"]}
        )
        again = await client.post("/v1/login/jwt/", headers=bearer(refreshed.json()["token"]))
        assert again.json()["frontend_user_id"] == user  # kept by the login's new tokens

    async def test_frontend_ids_without_a_database_are_kept_unchecked(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        named = {"frontend_user_id": 42, "frontend_session_id": "any"}
        logged = await client.post(
            "/v1/login/individual/",
            json={"email": registered.email, "password": PASSWORD, **named},
        )
        assert logged.status_code == 200, logged.text
        body = (await client.post("/v1/login/jwt/", headers=bearer(logged.json()["token"]))).json()
        assert (body["frontend_user_id"], body["frontend_session_id"]) == (42, "any")

    async def test_login_jwt_without_frontend_ids_or_database(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        token = bearer((await login(client, registered.email)).json()["token"])
        body = (await client.post("/v1/login/jwt/", headers=token)).json()
        assert set(body) == {"org_id", "account"}

    async def test_login_jwt_needs_a_token(
        self, client: httpx.AsyncClient, registered: Registration
    ) -> None:
        assert_problem(await client.post("/v1/login/jwt/"), 401, "AUTHENTICATION_REQUIRED")
        with_key = await client.post("/v1/login/jwt/", headers=registered.key)
        assert_problem(with_key, 401, "AUTHENTICATION_REQUIRED")

    @pytest.mark.parametrize("value", [True, 2**64, -(2**63) - 1, "x" * 257, [1], {"a": 1}])
    async def test_bad_frontend_ids(
        self, client: httpx.AsyncClient, registered: Registration, value: object
    ) -> None:
        response = await client.post(
            "/v1/login/individual/",
            json={"email": registered.email, "password": PASSWORD, "frontend_user_id": value},
        )
        assert_problem(response, 400, "VALIDATION_ERROR")


class TestPasswordReset:
    async def test_the_mailed_code_sets_a_password_once(
        self, client: httpx.AsyncClient, registered: Registration, mailbox: MailBox
    ) -> None:
        old = (await login(client, registered.email)).json()
        response = await client.post(
            "/v1/accounts/individual/send-reset-password-email/",
            json={"email": registered.email, "email_redirect_url": "https://evil.example/r"},
        )
        assert response.status_code == 204, response.text
        mail = await mailbox.last_to(registered.email)
        assert "evil.example" not in mail.text  # not a listed host: no link
        code = mailbox.code(mail)
        body = {
            "email": registered.email,
            "code": code,
            "new_password": NEW_PASSWORD,
            "code_expiration_timestamp": 1.0,
        }
        assert (await client.post("/v1/accounts/individual/reset/", json=body)).status_code == 204
        assert (await login(client, registered.email, NEW_PASSWORD)).status_code == 200
        assert_problem(
            await client.get("/v1/whoami/", headers=bearer(old["token"])),
            401,
            "INVALID_CREDENTIALS",
        )
        again = await client.post(
            "/v1/accounts/individual/reset/", json=body | {"new_password": PASSWORD}
        )
        assert_problem(again, 400, "INVALID_CODE")
        relogged = await login(client, registered.email, NEW_PASSWORD)
        assert relogged.status_code == 200
        headers = bearer(relogged.json()["token"])
        accounts = (await client.get("/v1/organizations/accounts/", headers=headers)).json()
        assert accounts["individual_accounts"][0]["verified"] is True

    async def test_a_code_expires(
        self, client: httpx.AsyncClient, registered: Registration, mailbox: MailBox, clock: Clock
    ) -> None:
        await client.post(
            "/v1/accounts/individual/send-reset-password-email/", json={"email": registered.email}
        )
        code = mailbox.code(await mailbox.last_to(registered.email))
        clock.offset += timedelta(hours=2)
        response = await client.post(
            "/v1/accounts/individual/reset/",
            json={"email": registered.email, "code": code, "new_password": NEW_PASSWORD},
        )
        assert_problem(response, 400, "INVALID_CODE")
        assert (await login(client, registered.email)).status_code == 200

    async def test_a_code_is_for_its_email_only(
        self, client: httpx.AsyncClient, registered: Registration, mailbox: MailBox
    ) -> None:
        other = await register(client)
        await client.post(
            "/v1/accounts/individual/send-reset-password-email/", json={"email": registered.email}
        )
        code = mailbox.code(await mailbox.last_to(registered.email))
        response = await client.post(
            "/v1/accounts/individual/reset/",
            json={"email": other.email, "code": code, "new_password": NEW_PASSWORD},
        )
        assert_problem(response, 400, "INVALID_CODE")
        assert (await login(client, other.email)).status_code == 200

    async def test_unknown_email_answers_the_same_and_mails_nothing(
        self, client: httpx.AsyncClient, mailbox: MailBox
    ) -> None:
        email = unique_email("nobody")
        response = await client.post(
            "/v1/accounts/individual/send-reset-password-email/", json={"email": email}
        )
        assert response.status_code == 204
        assert all(mail.to != email for mail in mailbox.sent)

    async def test_an_account_made_without_password_sets_it_by_mail(
        self, client: httpx.AsyncClient, registered: Registration, mailbox: MailBox, app: object
    ) -> None:
        settings = app.state.settings  # type: ignore[attr-defined]
        settings.mail_redirect_hosts.append("app.example.com")
        try:
            email = unique_email("invited")
            response = await client.post(
                "/v1/accounts/individual/",
                headers=registered.bearer,
                json={"email": email, "email_redirect_url": "https://app.example.com/set?x=1"},
            )
        finally:
            settings.mail_redirect_hosts.remove("app.example.com")
        assert response.status_code == 201, response.text
        assert (await login(client, email, "anything at all")).status_code == 401
        mail = await mailbox.last_to(email)
        assert "https://app.example.com/set?x=1&email=" in mail.text
        reset = await client.post(
            "/v1/accounts/individual/reset/",
            json={"email": email, "code": mailbox.code(mail), "new_password": NEW_PASSWORD},
        )
        assert reset.status_code == 204, reset.text
        assert (await login(client, email, NEW_PASSWORD)).status_code == 200

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "a@example.com", "code": "x", "new_password": "short"},
            {"email": "a@example.com", "code": "", "new_password": NEW_PASSWORD},
            {"email": "nope", "code": "x", "new_password": NEW_PASSWORD},
            {"email": "a@example.com", "code": "x", "new_password": NEW_PASSWORD, "extra": 1},
        ],
    )
    async def test_bad_reset_bodies(
        self, client: httpx.AsyncClient, body: dict[str, object]
    ) -> None:
        response = await client.post("/v1/accounts/individual/reset/", json=body)
        assert_problem(response, 400, "VALIDATION_ERROR")

    async def test_a_bad_redirect_url(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/accounts/individual/send-reset-password-email/",
            json={"email": "a@example.com", "email_redirect_url": "javascript:alert(1)"},
        )
        assert_problem(response, 400, "VALIDATION_ERROR")


class TestVerification:
    async def test_resend_and_verify(
        self, client: httpx.AsyncClient, registered: Registration, mailbox: MailBox
    ) -> None:
        response = await client.put(
            "/v1/accounts/resend-verification-code/", json={"email": registered.email}
        )
        assert response.status_code == 204
        code = mailbox.code(await mailbox.last_to(registered.email))
        wrong = await client.get(
            "/v1/accounts/verify/", params={"email": registered.email, "code": "x"}
        )
        assert_problem(wrong, 400, "INVALID_CODE")
        verified = await client.get(
            "/v1/accounts/verify/", params={"email": registered.email, "code": code}
        )
        assert verified.json() == {"verified": True, "email": registered.email}
        again = await client.get(
            "/v1/accounts/verify/", params={"email": registered.email, "code": code}
        )
        assert_problem(again, 400, "INVALID_CODE")

    async def test_a_new_account_with_a_password_gets_a_verification_code(
        self, client: httpx.AsyncClient, registered: Registration, mailbox: MailBox
    ) -> None:
        account = await add_account(client, registered.bearer, "backend")
        mail = await mailbox.last_to(account.email)
        assert mail.subject == "Verify your email"
        verified = await client.get(
            "/v1/accounts/verify/", params={"email": account.email, "code": mailbox.code(mail)}
        )
        assert verified.status_code == 200, verified.text
