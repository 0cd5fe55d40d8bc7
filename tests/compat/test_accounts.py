"""Logins, accounts, service-account keys and password resets, through the client."""

import time
import uuid
from pathlib import Path

import pytest
from xminds.api.exceptions import AuthError, DuplicatedError, NotFoundError, XMindsError

from tests.utils.factories import PASSWORD, unique_email
from tests.utils.xminds import (
    Org,
    json_client,
    new_database,
    reset_mail,
    root_client,
)

pytestmark = pytest.mark.slow

NEW_PASSWORD = "a brand new passphrase"


def service_name() -> str:
    return f"svc-{uuid.uuid4().hex[:10]}"


class TestLogin:
    def test_login_individual_without_a_database(self, org: Org) -> None:
        client = json_client(org.url)
        answer = client.login_individual(org.email, PASSWORD)
        assert answer["role"] == "root"
        assert answer["org_id"] == org.org_id
        assert answer["refresh_token"]
        assert answer.get("database") is None
        assert client.jwt_token == answer["token"]

    def test_login_individual_to_a_database_by_id_and_by_name(self, org: Org) -> None:
        name = f"by_name_{uuid.uuid4().hex[:8]}"
        db_id = new_database(root_client(org), "uuid", "uint32", "hex16", name=name)
        client = json_client(org.url)
        by_id = client.login_individual(org.email, PASSWORD, db_id=db_id)
        database = by_id["database"]
        assert database["id"] == db_id
        assert database["name"] == name
        assert (database["item_id_type"], database["user_id_type"]) == ("uuid", "uint32")
        assert database["session_id_type"] == "hex16"
        by_name = client.login_individual(org.email, PASSWORD, db_name=name)
        assert by_name["database"]["id"] == db_id
        assert client.get_database()["id"] == db_id

    def test_login_root(self, org: Org) -> None:
        client = json_client(org.url)
        answer = client.login_root(org.email, PASSWORD)
        assert answer["org_id"] == org.org_id
        assert client.jwt_token == answer["token"]
        listed = client.get_all_databases()["databases"]
        assert org.body["database"]["id"] in [database["id"] for database in listed]

    def test_login_service(self, org: Org) -> None:
        root = root_client(org)
        db_id = new_database(root, "uint32", "uint32")
        name = service_name()
        root.create_service_account(name, password=PASSWORD, role="backend")
        client = json_client(org.url)
        answer = client.login_service(name, PASSWORD, db_id=db_id)
        assert answer["role"] == "backend"
        assert answer["org_id"] == org.org_id
        assert answer["database"]["id"] == db_id
        assert client.get_database()["id"] == db_id

    def test_login_refresh_token(self, org: Org) -> None:
        root = root_client(org)
        db_id = new_database(root, "uint32", "uint32")
        client = json_client(org.url)
        first = client.login_individual(org.email, PASSWORD)
        again = client.login_refresh_token()
        assert again["token"] != first["token"]
        assert again["refresh_token"] != first["refresh_token"]
        assert client.jwt_token == again["token"]
        to_database = client.login_refresh_token(db_id=db_id)
        assert to_database["database"]["id"] == db_id
        assert client.get_database()["id"] == db_id
        with pytest.raises(AuthError):  # a refresh token is spent by its use
            json_client(org.url).login_refresh_token(refresh_token=first["refresh_token"])

    def test_login_jwt(self, org: Org) -> None:
        client = root_client(org)
        db_id = new_database(client, "bytes16", "uuid")
        client.login_individual(org.email, PASSWORD, db_id=db_id)
        answer = client.login_jwt()
        assert answer["org_id"] == org.org_id
        assert answer["account"]["id"] == org.body["account_id"]
        assert answer["account"]["role"] == "root"
        database = answer["database"]
        assert database["id"] == db_id
        assert (database["item_id_type"], database["user_id_type"]) == ("bytes16", "uuid")
        assert database["session_id_type"]

    def test_a_wrong_password_is_an_auth_error(self, org: Org) -> None:
        with pytest.raises(AuthError) as raised:
            json_client(org.url).login_individual(org.email, "not the password at all")
        assert raised.value.data["error"]


class TestClientSide:
    """The methods that send nothing: the token and the last answer's headers."""

    def test_a_token_set_on_another_client(self, org: Org) -> None:
        first = root_client(org)
        second = json_client(org.url)
        second.set_jwt_token(first.jwt_token)
        assert second.jwt_token == first.jwt_token
        assert second.get_all_databases()["databases"]
        second.clear_jwt_token()
        with pytest.raises(AuthError) as raised:
            second.get_all_databases()
        assert raised.value.data["error"]

    def test_the_last_answers_headers(self, org: Org) -> None:
        client = root_client(org)
        client.get_all_databases()
        assert client.last_headers["content-type"].startswith("application/json")
        assert client.last_headers["x-request-id"]
        assert client.last_trace is None  # no X-Cloud-Trace-Context: not Google's cloud

    def test_escape_url(self, org: Org) -> None:
        assert json_client(org.url).escape_url("a b/c?") == "a%20b%2Fc%3F"


class TestIndividualAccounts:
    def test_create_and_list(self, org: Org) -> None:
        root = root_client(org)
        email = unique_email("ada")
        created = root.create_individual_account(
            email,
            password=PASSWORD,
            first_name="Ada",
            last_name="Lovelace",
            role="manager",
            metadata={"team": "data"},
            email_redirect_url="https://example.com/welcome",
        )
        assert isinstance(created["id"], str)
        accounts = {a["email"]: a for a in root.list_accounts()["individual_accounts"]}
        assert accounts[email]["first_name"] == "Ada"
        assert accounts[email]["last_name"] == "Lovelace"
        assert accounts[email]["role"] == "manager"
        assert isinstance(accounts[email]["verified"], bool)
        assert accounts[org.email]["role"] == "root"
        answer = json_client(org.url).login_individual(email, PASSWORD)
        assert answer["role"] == "manager"

    def test_create_without_a_password(self, org: Org) -> None:
        """The reference lets an account be made without a password (its owner sets one
        through the reset flow): it exists, and no password logs it in."""
        root = root_client(org)
        email = unique_email("nopassword")
        created = root.create_individual_account(email, role="backend")
        assert isinstance(created["id"], str)
        assert email in [a["email"] for a in root.list_accounts()["individual_accounts"]]

    def test_a_second_account_with_the_same_email_is_duplicated(self, org: Org) -> None:
        root = root_client(org)
        email = unique_email("twice")
        root.create_individual_account(email, password=PASSWORD, role="backend")
        with pytest.raises(DuplicatedError) as raised:
            root.create_individual_account(email, password=PASSWORD, role="backend")
        assert raised.value.data["type"]
        assert raised.value.data["key"]

    def test_partial_update(self, org: Org) -> None:
        root = root_client(org)
        email = unique_email("grace")
        root.create_individual_account(
            email, password=PASSWORD, first_name="Grace", last_name="Hopper", role="backend"
        )
        root.partial_update_individual_account(
            email, password=NEW_PASSWORD, first_name="Amazing", metadata={"rank": "admiral"}
        )
        accounts = {a["email"]: a for a in root.list_accounts()["individual_accounts"]}
        assert accounts[email]["first_name"] == "Amazing"
        assert accounts[email]["last_name"] == "Hopper"
        assert json_client(org.url).login_individual(email, NEW_PASSWORD)["role"] == "backend"
        with pytest.raises(AuthError):
            json_client(org.url).login_individual(email, PASSWORD)

    def test_delete(self, org: Org) -> None:
        root = root_client(org)
        email = unique_email("leaving")
        root.create_individual_account(email, password=PASSWORD, role="backend")
        root.delete_individual_account(email)
        assert email not in [a["email"] for a in root.list_accounts()["individual_accounts"]]
        with pytest.raises(NotFoundError) as raised:
            root.delete_individual_account(email)
        assert raised.value.data["type"]
        assert raised.value.data["key"] == email


class TestServiceAccounts:
    def test_create_list_delete(self, org: Org) -> None:
        root = root_client(org)
        name = service_name()
        created = root.create_service_account(
            name, password=PASSWORD, role="frontend", metadata={"app": "web"}
        )
        assert isinstance(created["id"], str)
        services = {s["name"]: s for s in root.list_accounts()["service_accounts"]}
        assert services[name]["role"] == "frontend"
        root.delete_service_account(name)
        assert name not in [s["name"] for s in root.list_accounts()["service_accounts"]]
        with pytest.raises(NotFoundError) as raised:
            root.delete_service_account(name)
        assert raised.value.data["key"] == name

    def test_keys(self, org: Org) -> None:
        root = root_client(org)
        name = service_name()
        root.create_service_account(name, password=PASSWORD, role="backend")
        expiry = time.time() + 3600
        key = root.create_service_account_key(
            name, expiration_timestamp=expiry, metadata={"description": "key for ci"}
        )
        assert isinstance(key["id"], str)
        assert isinstance(key["key"], str)
        assert key["key"]
        assert abs(key["created_timestamp"] - time.time()) < 60
        assert key["expire_timestamp"] == pytest.approx(expiry, abs=1)
        assert key["metadata"] == {"description": "key for ci"}
        services = {s["name"]: s for s in root.list_accounts()["service_accounts"]}
        listed = {k["id"]: k for k in services[name]["keys"]}
        assert listed[key["id"]]["metadata"] == {"description": "key for ci"}
        assert "key" not in listed[key["id"]]  # the secret is shown once
        root.delete_service_account_key(key["id"])
        services = {s["name"]: s for s in root.list_accounts()["service_accounts"]}
        assert key["id"] not in [k["id"] for k in services[name]["keys"]]
        with pytest.raises(NotFoundError):
            root.delete_service_account_key(key["id"])

    def test_a_key_of_an_unknown_service_account_is_not_found(self, org: Org) -> None:
        with pytest.raises(NotFoundError) as raised:
            root_client(org).create_service_account_key(service_name())
        assert raised.value.data["type"]


class TestPasswordReset:
    def test_reset(self, org: Org, server_log: Path) -> None:
        client = json_client(org.url)
        client.send_reset_password_email(org.email, "https://example.com/reset")
        mail = reset_mail(server_log, org.email)
        code, expiry = mail.code, mail.code_expiration_timestamp
        assert expiry > time.time()
        client.set_or_reset_password(org.email, NEW_PASSWORD, code, expiry)
        assert client.login_individual(org.email, NEW_PASSWORD)["role"] == "root"
        with pytest.raises(AuthError):
            json_client(org.url).login_individual(org.email, PASSWORD)
        with pytest.raises(XMindsError):  # a code is spent by its use
            client.set_or_reset_password(org.email, "yet another passphrase", code, expiry)

    def test_the_mail_links_to_the_redirect_url(self, org: Org, server_log: Path) -> None:
        """The reference sends the user to `email_redirect_url` with the code: the page
        there calls `set_or_reset_password`."""
        redirect = "https://example.com/reset-here"
        json_client(org.url).send_reset_password_email(org.email, redirect)
        assert redirect in reset_mail(server_log, org.email).text

    def test_a_wrong_code_changes_nothing(self, org: Org) -> None:
        client = json_client(org.url)
        client.send_reset_password_email(org.email, "https://example.com/reset")
        with pytest.raises(XMindsError):
            client.set_or_reset_password(org.email, NEW_PASSWORD, "0" * 12, time.time() + 600)
        assert client.login_individual(org.email, PASSWORD)["role"] == "root"

    def test_an_unknown_email_is_answered_as_a_known_one(self, url: str) -> None:
        """No way to learn from the answer whether an account exists."""
        json_client(url).send_reset_password_email(
            unique_email("nobody"), "https://example.com/reset"
        )
