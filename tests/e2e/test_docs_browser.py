"""The documentation pages in a real browser (Debian's Chromium, driven by Playwright):
they load with every asset from the server itself — any request to another host fails the
test — and "Try it out" runs a real request with an API key. Screenshots of each step go
to tests/e2e/artifacts/."""

import httpx
import pytest

from tests.utils.browser import ARTIFACTS, OnlyThisServer
from tests.utils.http import ready_key
from tests.utils.server import Server

pytestmark = pytest.mark.slow


def _ready_key(base: str) -> str:
    """A ready database's key, with one space to find."""
    key = ready_key(base, "docs-ui@example.com")
    headers = {"X-API-Key": key}
    created = httpx.post(f"{base}/v1/spaces", headers=headers, json={"name": "Seen in the docs"})
    assert created.status_code == 201
    return key


def test_docs_offline_and_try_it_out(server: Server, browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    server.start()
    base = server.url
    key = _ready_key(base)
    only_this_server = OnlyThisServer(base)

    page = browser.new_page()
    page.route("**/*", only_this_server)
    console_errors: list[str] = []
    page.on(
        "console", lambda message: message.type == "error" and console_errors.append(message.text)
    )

    page.goto(base + "/")
    expect(page.get_by_role("link", name="API documentation")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "docs-1-landing.png")

    page.get_by_role("link", name="API documentation").click()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tenantry")
    page.screenshot(path=ARTIFACTS / "docs-2-swagger-ui.png")

    page.locator("button.authorize").first.click()
    dialog = page.locator(".modal-ux")
    scheme = dialog.locator(".auth-container").filter(has_text="X-API-Key").first
    scheme.locator("input").fill(key)
    scheme.locator("button.authorize").click()
    expect(dialog.get_by_role("button", name="Remove authorization")).to_be_visible()
    dialog.locator("button.btn-done").first.click()

    operation = page.locator("#operations-spaces-list_spaces_v1_spaces_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    live = operation.locator(".live-responses-table tr.response")
    expect(live.locator(".response-col_status")).to_have_text("200")
    expect(live.locator(".response-col_description")).to_contain_text("Seen in the docs")
    page.screenshot(path=ARTIFACTS / "docs-3-tried.png", full_page=True)

    page.goto(base + "/redoc")
    # ReDoc renders the whole document (hundreds of operations) before it shows any of it
    expect(page.locator(".api-content")).to_contain_text("Tenantry", timeout=60_000)
    page.screenshot(path=ARTIFACTS / "docs-4-redoc.png")

    elsewhere = only_this_server.elsewhere
    assert elsewhere == [], f"the pages asked other hosts for {elsewhere}"
    assert console_errors == []  # nothing refused by the pages' own policy either
    favicon = httpx.get(base + "/favicon.ico")
    assert (favicon.status_code, favicon.headers["content-type"]) == (200, "image/png")
    assert server.stop() == 0


def test_the_versioned_openapi_document(server: Server) -> None:
    server.start()
    document = httpx.get(f"{server.url}/v20241104/openapi.json").json()
    assert document["info"]["version"] == "20241104"
    assert "/v20241104/list-tenant-ids" in document["paths"]
    assert all(path.startswith("/v20241104/") for path in document["paths"])
    assert server.stop() == 0
