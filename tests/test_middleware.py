"""The outermost layer's security headers: no response is sniffed or framed, and a redirect
names a host only when it is a trusted one, never the one the Host header claims."""

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tenantry.middleware import RequestContextMiddleware
from tests.utils.factories import ready_org
from tests.utils.problems import assert_problem


class TestEveryResponse:
    @pytest.mark.parametrize(
        "path",
        [
            "/",
            "/docs",
            "/redoc",
            "/docs/oauth2-redirect",
            "/docs/assets/swagger-ui.css",
            "/openapi.json",
            "/healthz",
            "/v1/spaces",
            "/v1/nowhere",
            "/v1/whoami/",
        ],
    )
    async def test_never_sniffed_nor_framed(self, client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    async def test_the_documentation_keeps_its_policy(self, client: httpx.AsyncClient) -> None:
        for path in ("/", "/docs", "/redoc"):
            policy = (await client.get(path)).headers["content-security-policy"]
            assert policy.startswith("default-src 'self'")
            assert "frame-ancestors 'none'" in policy

    async def test_hot_reads_too(self, client: httpx.AsyncClient) -> None:
        _, key = await ready_org(client)
        response = await client.get("/v1/spaces", headers=key)
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"


async def redirect(request: Request) -> Response:
    """What Starlette's redirects do: the absolute URL of the request's own host."""
    return RedirectResponse(str(request.url_for("target")) + "?a=1", status_code=302)


async def elsewhere(request: Request) -> Response:
    return RedirectResponse(request.query_params["to"], status_code=302)


async def target(request: Request) -> Response:
    return Response("here")


def redirecting_app(trusted_hosts: list[str]) -> httpx.AsyncClient:
    routes = [
        Route("/redirect", redirect),
        Route("/elsewhere", elsewhere),
        Route("/target/", target, name="target"),
    ]
    app = RequestContextMiddleware(
        Starlette(routes=routes), max_body_bytes=1024, trusted_hosts=trusted_hosts
    )
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://tenantry.test")


class TestRedirects:
    async def test_an_untrusted_host_becomes_a_path(self) -> None:
        async with redirecting_app([]) as client:
            for host in ("evil.example", "tenantry.test", "evil.example:8443"):
                response = await client.get("/redirect", headers={"Host": host})
                assert response.headers["location"] == "/target/?a=1"

    async def test_a_trusted_host_is_kept(self) -> None:
        async with redirecting_app(["API.example.com"]) as client:
            response = await client.get("/redirect", headers={"Host": "api.example.com"})
            assert response.headers["location"] == "http://api.example.com/target/?a=1"
            response = await client.get("/redirect", headers={"Host": "evil.example"})
            assert response.headers["location"] == "/target/?a=1"

    @pytest.mark.parametrize(
        ("location", "rewritten"),
        [
            ("http://evil.example//other.example/x", "/other.example/x"),
            ("//evil.example/x", "/x"),
            ("http://evil.example", "/"),
            ("http://evil.example/a%20b#part", "/a%20b#part"),
            ("/already/a/path", "/already/a/path"),
        ],
    )
    async def test_never_a_host_by_another_spelling(self, location: str, rewritten: str) -> None:
        async with redirecting_app([]) as client:
            response = await client.get("/elsewhere", params={"to": location})
            assert response.headers["location"] == rewritten


class TestPickleIsNeverRead:
    """The Crossing Minds client's default serializer is gzip'ed pickle: refused before the
    body is read, with the way out in the message."""

    async def test_a_pickled_body_is_refused(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/login/individual/",
            content=b"x\x9c\x6b\x60\x99\x00",  # whatever the bytes: never unpickled
            headers={"Content-Type": "application/xminds-pkl", "Content-Encoding": "gzip"},
        )
        body = assert_problem(response, 415, "PICKLE_REFUSED")
        assert "serializer='json'" in body["detail"]

    async def test_a_client_that_takes_only_pickle_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = {"Accept": "application/xminds-pkl", "Content-Type": "application/xminds-pkl"}
        response = await client.get("/v1/spaces", headers=headers)
        body = assert_problem(response, 406, "PICKLE_NOT_ACCEPTABLE")
        assert "serializer='json'" in body["message"]

    @pytest.mark.parametrize(
        "accept",
        [
            "application/xminds-pkl, application/json",
            "application/xminds-pkl;q=0.9, */*;q=0.1",
            "application/json",
            "text/html",
        ],
    )
    async def test_json_accepted_too_is_served(
        self, client: httpx.AsyncClient, accept: str
    ) -> None:
        response = await client.get("/healthz", headers={"Accept": accept})
        assert response.status_code == 200

    async def test_pickle_refused_with_q_zero_json(self, client: httpx.AsyncClient) -> None:
        headers = {"Accept": "application/xminds-pkl, application/json;q=0"}
        response = await client.get("/healthz", headers=headers)
        assert_problem(response, 406, "PICKLE_NOT_ACCEPTABLE")

    async def test_a_pickle_type_without_a_body_is_no_body_to_refuse(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = {"Content-Type": "application/xminds-pkl", "Accept": "application/json"}
        response = await client.get("/healthz", headers=headers)
        assert response.status_code == 200
