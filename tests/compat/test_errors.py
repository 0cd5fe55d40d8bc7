"""Errors as the client reads them (`error_code`, and the `error_data` it formats its messages
from), and the refusal of its default serializer, pickle."""

import pickle
import zlib
from pathlib import Path

import httpx
import pytest
from xminds.api.client import CrossingMindsApiClient
from xminds.api.exceptions import (
    AuthError,
    ForbiddenError,
    MethodNotAllowed,
    NotFoundError,
    ServerError,
    XMindsError,
)

from tests.utils.factories import PASSWORD, unique_email
from tests.utils.xminds import Org, json_client, root_client

pytestmark = pytest.mark.slow

PICKLE_HEADERS = {
    "Content-Type": "application/xminds-pkl",
    "Accept": "application/xminds-pkl",
    "Content-Encoding": "gzip",
}
HINT = "serializer='json'"


class TestErrorData:
    """Each error carries what the client formats its message from; the autouse fixture
    `error_data_complete` fails any test in which the client printed that a key is missing."""

    def test_no_credentials(self, url: str) -> None:
        with pytest.raises(AuthError) as raised:
            json_client(url).get_all_databases()
        assert raised.value.data["error"]

    def test_a_role_without_the_right(self, org: Org) -> None:
        root = root_client(org)
        email = unique_email("front")
        root.create_individual_account(email, password=PASSWORD, role="frontend")
        frontend = json_client(org.url)
        frontend.login_individual(email, PASSWORD)
        with pytest.raises(ForbiddenError) as raised:
            frontend.create_database("nope", "", "uint32", "uint32")
        assert raised.value.data["error"]

    def test_a_route_that_does_not_exist(self, org: Org) -> None:
        with pytest.raises(NotFoundError) as raised:
            root_client(org).api.get("no-such-route/")
        assert raised.value.data["type"]
        assert raised.value.data["key"]

    def test_a_method_not_allowed(self, org: Org) -> None:
        with pytest.raises(MethodNotAllowed) as raised:
            root_client(org).api.put("databases/current/status/", data={"status": "ready"})
        assert raised.value.data["method"] == "PUT"

    def test_an_account_that_does_not_exist(self, org: Org) -> None:
        email = unique_email("ghost")
        with pytest.raises(NotFoundError) as raised:
            root_client(org).delete_individual_account(email)
        assert raised.value.data["key"] == email

    def test_an_unknown_query_parameter_is_refused(self, org: Org) -> None:
        """Never silently ignored: the databases list takes none but amt and page."""
        with pytest.raises(XMindsError):
            root_client(org).api.get("databases/", params={"filters": "name:eq:x"})


class TestPickleRefusal:
    """The client's default serializer sends and asks for pickle: Tenantry never unpickles a
    client's bytes, and says to use serializer='json' in JSON the client can show."""

    def test_a_pickled_body_is_refused(self, org: Org) -> None:
        client = CrossingMindsApiClient(host=org.url)  # serializer='pkl', the default
        with pytest.raises(ServerError) as raised:
            client.login_individual(org.email, PASSWORD)
        # The client tries to unpickle the JSON answer, fails, and keeps its bytes.
        assert HINT in raised.value.data["response"].decode()

    def test_a_pickled_body_on_the_wire(self, org: Org) -> None:
        body = zlib.compress(pickle.dumps({"email": org.email, "password": PASSWORD}, 4))
        response = httpx.post(
            f"{org.url}/v1/login/individual/", content=body, headers=PICKLE_HEADERS
        )
        assert response.status_code == 415
        assert response.headers["content-type"].endswith("json")
        assert HINT in response.json()["message"]

    def test_a_pickled_body_is_never_unpickled(self, org: Org, tmp_path: Path) -> None:
        marker = tmp_path / "unpickled"

        class Opens:
            def __reduce__(self) -> tuple[object, tuple[str, str]]:
                return open, (str(marker), "w")

        for body in (pickle.dumps(Opens(), 4), zlib.compress(pickle.dumps(Opens(), 4))):
            for path in ("login/individual/", "databases/"):
                httpx.post(f"{org.url}/v1/{path}", content=body, headers=PICKLE_HEADERS)
        assert not marker.exists()

    def test_a_pickled_answer_is_refused(self, org: Org) -> None:
        client = CrossingMindsApiClient(host=org.url)
        client.set_jwt_token(root_client(org).jwt_token)
        with pytest.raises(ServerError) as raised:
            client.get_all_databases()
        assert HINT in raised.value.data["response"].decode()

    def test_a_pickled_answer_on_the_wire(self, org: Org) -> None:
        token = root_client(org).jwt_token
        response = httpx.get(
            f"{org.url}/v1/databases/",
            headers={"Accept": "application/xminds-pkl", "Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 406
        assert response.headers["content-type"].endswith("json")
        assert HINT in response.json()["message"]
