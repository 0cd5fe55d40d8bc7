"""The admin panel in a real browser (Debian's Chromium, driven by Playwright) against a
real `tenantry serve`: log in picking the database, create, edit and delete a space with
a background image, make an API key in the account's menu and use it, see its requests on
the dashboard, log out; another
organization's account reaches none of the first one's rows by changing URLs. Any
request to another host fails the test. Screenshots of each step go to
tests/e2e/artifacts/."""

import io
import re
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.utils.browser import ARTIFACTS, OnlyThisServer
from tests.utils.factories import PASSWORD
from tests.utils.http import registered_at
from tests.utils.server import Server

pytestmark = pytest.mark.slow


def background_png(path: Path) -> Path:
    image = Image.new("RGB", (64, 48), (30, 120, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_admin_panel(server: Server, browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import Browser, Page, expect

    assert isinstance(browser, Browser)
    server.env["TENANTRY_LAST_USED_INTERVAL"] = "0.5"  # the dashboard's counts, written soon
    server.start()
    base = server.url
    only_this_server = OnlyThisServer(base)

    def new_page() -> Page:
        page = browser.new_context().new_page()
        page.route("**/*", only_this_server)
        return page

    def log_in(page: Page, email: str, database: str) -> None:
        page.goto(base + "/admin/login")
        page.fill("#client", database)
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#account-menu")).to_contain_text(email)

    first = registered_at(base, "admin-first@example.com")
    page = new_page()
    page.goto(base + "/")
    page.get_by_role("link", name="Admin panel").click()
    expect(page.locator("#client")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "admin-1-login.png")
    page.fill("#client", first.database_id)
    page.fill("#email", "admin-first@example.com")
    page.fill("#password", "not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_have_text("Invalid credentials.")
    expect(page.locator("#client")).to_have_value(first.database_id)  # kept, to fix a typo
    expect(page.locator("#email")).to_have_value("admin-first@example.com")
    expect(page.locator("#password")).to_have_value("")
    page.screenshot(path=ARTIFACTS / "admin-1b-refused.png")
    log_in(page, "admin-first@example.com", first.database_id)
    expect(page.locator("#open-openapi")).to_have_attribute("href", "/docs")
    expect(page.locator("#home-database")).to_contain_text(first.body["database"]["name"])
    expect(page.locator("#count-item")).to_have_text("0")
    page.screenshot(path=ARTIFACTS / "admin-2-logged-in.png")

    page.locator("#home-tables").get_by_role("link", name="Spaces").click()
    page.get_by_role("link", name="+ New Space").click()
    page.fill("#name", "Rooftop")
    page.set_input_files("#background", background_png(tmp_path / "background.png"))
    page.screenshot(path=ARTIFACTS / "admin-3-create-space.png")
    page.get_by_role("button", name="Save", exact=True).click()
    row = page.locator("tbody tr").filter(has_text="Rooftop")
    expect(row).to_have_count(1)
    image = row.locator("img.space-background")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 64
    page.screenshot(path=ARTIFACTS / "admin-4-space-with-background.png")

    row.locator('a[href*="/admin/space/edit/"]').click()
    page.fill("#name", "Rooftop garden")
    page.get_by_role("button", name="Save", exact=True).click()
    row = page.locator("tbody tr").filter(has_text="Rooftop garden")
    expect(row).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "admin-5-edited.png")

    row.locator('a[data-bs-target="#modal-delete"]').click()
    confirm = page.locator("#modal-delete-button")
    expect(confirm).to_have_attribute("data-url", re.compile(r"/admin/space/delete\?pks="))
    confirm.click()
    expect(page.locator("tbody tr").filter(has_text="Rooftop garden")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "admin-6-deleted.png")

    page.locator("#account-menu").click()
    menu = page.locator("#account-dropdown")
    expect(menu).to_contain_text("root")
    menu.locator('#create-api-key input[name="name"]').fill("from the browser")
    page.screenshot(path=ARTIFACTS / "admin-7-account-menu.png")
    menu.get_by_role("button", name="Create key").click()
    key = page.locator("#new-api-key").input_value()
    page.screenshot(path=ARTIFACTS / "admin-8-key-created.png")
    headers = {"X-API-Key": key}
    assert requests.get(f"{base}/v1/spaces", headers=headers, timeout=5).status_code == 200
    kept = requests.post(
        f"{base}/v1/spaces", headers=headers, json={"name": "first's own"}, timeout=5
    ).json()["space_id"]

    # The docs page, opened from the admin, is authorised by the admin session.
    page.locator("#open-openapi").click()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tenantry")
    expect(page.locator(".auth-wrapper button.authorize")).to_have_class(re.compile("locked"))
    operation = page.locator("#operations-spaces-list_spaces_v1_spaces_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    live = operation.locator(".live-responses-table tr.response")
    expect(live.locator(".response-col_status")).to_have_text("200")
    expect(live.locator(".response-col_description")).to_contain_text("first's own")
    page.screenshot(path=ARTIFACTS / "admin-9-docs-authorised.png", full_page=True)

    # The dashboard counts the key's requests (one refused) once they are written.
    assert requests.get(f"{base}/v1/spaces/{kept}x", headers=headers, timeout=5).status_code == 400
    page.goto(base + "/admin/")
    for _ in range(20):
        if page.locator("#traffic-errors").inner_text() != "0":
            break
        page.wait_for_timeout(500)
        page.reload()
    keys = page.locator("#traffic-keys")
    expect(keys).to_contain_text("from the browser")
    expect(page.locator("#traffic-errors")).not_to_have_text("0")
    expect(page.locator("#traffic .traffic-chart").first).to_be_visible()
    expect(page.locator("#organization-databases")).to_contain_text(first.body["database"]["name"])
    page.screenshot(path=ARTIFACTS / "admin-9b-dashboard.png", full_page=True)

    page.locator("#account-menu").click()
    page.locator("#logout").click()
    expect(page.locator("#client")).to_be_visible()
    page.goto(base + "/admin/space/list")
    expect(page.locator("#client")).to_be_visible()  # the session is gone
    page.screenshot(path=ARTIFACTS / "admin-10-logged-out.png")

    second = registered_at(base, "admin-second@example.com")
    other = new_page()
    log_in(other, "admin-second@example.com", second.body["database"]["name"])
    other.goto(base + "/admin/space/list")
    expect(other.locator("body")).not_to_contain_text("first's own")
    for path in (f"/admin/space/details/{kept}", f"/admin/space/edit/{kept}"):
        response = other.goto(base + path)
        assert response is not None
        assert response.status in (403, 404), path
        expect(other.locator("body")).not_to_contain_text("first's own")
    other.screenshot(path=ARTIFACTS / "admin-11-other-organization.png")

    elsewhere = only_this_server.elsewhere
    assert elsewhere == [], f"the pages asked other hosts for {elsewhere}"
    assert server.stop() == 0
