"""The admin panel over HTTP against the real app and PostgreSQL: login, server-side
sessions, CSRF, every view bound to the logged-in database, the API's roles."""

import asyncio
import re
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.admin.sessions import COOKIE, hash_token
from tenantry.config import Settings
from tenantry.models.control import Account, AdminSession
from tests.utils.admin import BASE, AdminBrowser, Browsers
from tests.utils.cli import tenantry
from tests.utils.factories import (
    PASSWORD,
    Registration,
    add_account,
    ready_registration,
    space_names,
)

GENERIC = "Invalid credentials."


async def admin_sessions(engine: AsyncEngine, **where: str) -> int:
    query = select(func.count()).select_from(AdminSession)
    for column, value in where.items():
        query = query.where(getattr(AdminSession, column) == value)
    async with engine.connect() as connection:
        return int(await connection.scalar(query) or 0)


async def logged_in(browser: AdminBrowser, registration: Registration) -> None:
    response = await browser.login(registration.email, registration.database_id)
    assert response.status_code == 302, response.text


async def create_space(browser: AdminBrowser, name: str, **files: object) -> httpx.Response:
    return await browser.post(
        "/admin/space/create", {"name": name, "description": "", "extra": "{}"}, files=files
    )


def space_ids(page: str) -> list[str]:
    return re.findall(r'<span class="space-id">([0-9a-f-]{36})</span>', page)


class TestLogin:
    async def test_by_id_by_name_or_alone(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        name = registration.body["database"]["name"]
        for named in (registration.database_id, name, ""):
            async with browsers() as browser:
                response = await browser.login(registration.email, named)
                assert response.status_code == 302, response.text
                assert response.headers["location"].endswith("/admin/")
                page = await browser.client.get("/admin/space/list")
                assert page.status_code == 200
                assert registration.email in page.text

    async def test_the_cookie_holds_a_random_token_only(
        self, client: httpx.AsyncClient, browsers: Browsers, engine: AsyncEngine
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            response = await browser.login(registration.email)
            [cookie] = [
                value
                for value in response.headers.get_list("set-cookie")
                if value.startswith(f"{COOKIE}=")
            ]
            token = response.cookies[COOKIE]
            flags = {part.strip().lower() for part in cookie.split(";")}
            assert {"httponly", "samesite=strict", "path=/"} <= flags
            assert "secure" not in flags  # plain http here
            assert await admin_sessions(engine, token_hash=hash_token(token)) == 1
            assert await admin_sessions(engine, token_hash=token) == 0

    async def test_the_cookie_is_secure_over_https(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        registration = await ready_registration(client)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        secure_base = "https://tenantry.test"
        async with httpx.AsyncClient(transport=transport, base_url=secure_base) as https:
            browser = AdminBrowser(https)
            page = await https.get("/admin/login")
            nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert nonce is not None
            response = await https.post(
                "/admin/login",
                data={"csrf_token": nonce[1], "email": registration.email, "password": PASSWORD},
                headers={"Origin": secure_base},
            )
            assert response.status_code == 302, response.text
            [cookie] = [
                value
                for value in response.headers.get_list("set-cookie")
                if value.startswith(f"{COOKIE}=")
            ]
            assert "secure" in cookie.lower()
            assert browser.client is https

    async def test_every_failure_reads_the_same(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        other = await ready_registration(client, "other")
        attempts = [
            (registration.email, registration.database_id, "wrong password 123"),
            ("nobody." + registration.email, registration.database_id, PASSWORD),
            (registration.email, other.database_id, PASSWORD),  # another org's database
            (registration.email, "no-such-database", PASSWORD),
        ]
        for email, database, password in attempts:
            async with browsers() as browser:
                response = await browser.login(email, database, password)
                assert response.status_code == 400
                assert GENERIC in response.text
                assert COOKIE not in response.cookies

    async def test_logins_are_in_the_audit_trail_as_the_admin_s(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        registration = await ready_registration(client)
        # From an address of its own: its refused login counts against no other test's.
        transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as own:
            browser = AdminBrowser(own)
            refused = await browser.login(
                registration.email, registration.database_id, "wrong password 123"
            )
            assert refused.status_code == 400
            await logged_in(browser, registration)
        trail = await client.get("/v1/audit/", headers=registration.bearer)
        events = trail.json()["data"]
        assert [(e["action"], e["channel"], e["address"]) for e in events[:2]] == [
            ("login", "admin", "192.0.2.7"),
            ("login.failed", "admin", "192.0.2.7"),
        ]
        assert "wrong password 123" not in trail.text

    async def test_a_refused_login_keeps_what_was_typed_but_the_password(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            response = await browser.login(registration.email, 'shop "<b>', "wrong password 123")
            assert response.status_code == 400
            assert f'value="{registration.email}"' in response.text
            assert 'value="shop &#34;&lt;b&gt;"' in response.text
            assert "wrong password 123" not in response.text

    async def test_the_form_lists_no_database(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            page = await browser.client.get("/admin/login")
            assert registration.database_id not in page.text
            assert registration.body["database"]["name"] not in page.text

    async def test_a_login_post_without_its_token_is_refused(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            form = {"email": registration.email, "password": PASSWORD}
            response = await browser.client.post("/admin/login", data=form)
            assert response.status_code == 403
            assert COOKIE not in response.cookies


class TestHome:
    async def test_the_database_at_a_glance(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        items = {"items": [{"item_id": str(uuid.uuid4())} for _ in range(3)]}
        key = {"X-API-Key": registration.api_key}
        assert (await client.put("/v1/items-bulk/", headers=key, json=items)).status_code == 204
        async with browsers() as browser:
            await logged_in(browser, registration)
            page = (await browser.client.get("/admin/")).text
        assert registration.body["database"]["name"] in page
        assert registration.database_id in page
        assert '<div class="h1 mb-0" id="count-item">3</div>' in page
        assert '<div class="h1 mb-0" id="count-rating">0</div>' in page
        assert 'href="/admin/space/list"' in page
        assert "template-space" not in page  # the operators' copies have their own menu

    async def test_the_traffic_per_key_and_day(
        self, app: FastAPI, client: httpx.AsyncClient, browsers: Browsers, engine: AsyncEngine
    ) -> None:
        registration = await ready_registration(client)
        key = {"X-API-Key": registration.api_key}
        for _ in range(4):
            assert (await client.get("/v1/spaces", headers=key)).status_code == 200
        missing = await client.get(f"/v1/spaces/{uuid.uuid4()}", headers=key)
        assert missing.status_code == 404
        await app.state.traffic.flush(app.state.engine)
        async with browsers() as browser:
            await logged_in(browser, registration)
            page = (await browser.client.get("/admin/")).text
        async with engine.connect() as connection:
            requests, errors = (
                await connection.execute(
                    text(
                        "SELECT sum(requests), sum(client_errors + server_errors) "
                        "FROM tenantry.request_traffic WHERE database_id = :id"
                    ),
                    {"id": registration.database_id},
                )
            ).one()
        assert requests >= 5
        assert errors >= 1
        assert f'<div class="h2 mb-0" id="traffic-requests">{requests:,}</div>' in page
        assert f'<div class="h2 mb-0 text-red" id="traffic-errors">{errors:,}</div>' in page
        assert 'id="latency-p50">≤ ' in page
        assert page.count('class="traffic-chart"') == 3  # the database, its key, the organization
        assert f"({registration.api_key[:12]}…)" in page
        assert 'id="organization-databases"' in page  # the registration's account is root
        assert " MB</div>" in page  # storage


class TestSession:
    async def test_logout_ends_it(
        self, client: httpx.AsyncClient, browsers: Browsers, engine: AsyncEngine
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            await logged_in(browser, registration)
            token = browser.client.cookies[COOKIE]
            response = await browser.client.get("/admin/logout")
            assert response.status_code == 302
            assert response.headers["location"].endswith("/admin/login")
            assert await admin_sessions(engine, token_hash=hash_token(token)) == 0
        async with browsers() as stale:
            stale.client.cookies.set(COOKIE, token)
            page = await stale.client.get("/admin/space/list")
            assert page.status_code == 302
            assert page.headers["location"].endswith("/admin/login")

    async def test_a_deleted_database_ends_it(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            await logged_in(browser, registration)
            deleted = await client.delete("/v1/databases/current/", headers=registration.bearer)
            assert deleted.status_code == 204, deleted.text
            page = await browser.client.get("/admin/space/list")
            assert page.status_code == 302
            assert page.headers["location"].endswith("/admin/login")

    async def test_a_deleted_account_ends_it(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        root = await ready_registration(client)
        made = await add_account(client, root.bearer, "backend")
        async with browsers() as browser:
            assert (await browser.login(made.email, root.database_id)).status_code == 302
            assert (await browser.client.get("/admin/space/list")).status_code == 200
            gone = await client.delete(f"/v1/accounts/{made.id}/", headers=root.bearer)
            assert gone.status_code == 204, gone.text
            assert (await browser.client.get("/admin/space/list")).status_code == 302


class TestCsrf:
    async def test_a_post_without_the_token_changes_nothing(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        key = registration.key
        before = await space_names(client, key)
        async with browsers() as browser:
            await logged_in(browser, registration)
            form = {"name": "forged", "description": "", "extra": "{}"}
            missing = await browser.post("/admin/space/create", form, token=False)
            assert missing.status_code == 403
            wrong = await browser.post(
                "/admin/space/create", {**form, "csrf_token": "x" * 43}, token=False
            )
            assert wrong.status_code == 403
            forged = await browser.client.post(
                "/admin/space/create",
                data={**form, "csrf_token": await browser.csrf()},
                headers={"Origin": "https://evil.example"},
            )
            assert forged.status_code == 403
            assert await space_names(client, key) == before
            made = await create_space(browser, "genuine")
            assert made.status_code == 302, made.text
        assert await space_names(client, key) == sorted([*before, "genuine"])

    async def test_a_delete_needs_the_header(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            await logged_in(browser, registration)
            await create_space(browser, "to delete")
            [space_id] = space_ids((await browser.client.get("/admin/space/list")).text)
            path = f"/admin/space/delete?pks={space_id}"
            refused = await browser.client.delete(path)
            assert refused.status_code == 403
            assert space_id in (await browser.client.get("/admin/space/list")).text
            token = await browser.csrf()
            deleted = await browser.client.delete(path, headers={"X-CSRF-Token": token})
            assert deleted.status_code == 200, deleted.text
            assert space_id not in (await browser.client.get("/admin/space/list")).text


class TestBinding:
    async def test_another_organization_reaches_nothing(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        first = await ready_registration(client, "first")
        second = await ready_registration(client, "second")
        async with browsers() as browser:
            await logged_in(browser, first)
            assert (await create_space(browser, "first's secret")).status_code == 302
            [space_id] = space_ids((await browser.client.get("/admin/space/list")).text)
        async with browsers() as browser:
            await logged_in(browser, second)
            listed = await browser.client.get("/admin/space/list?search=secret")
            assert "first&#39;s secret" not in listed.text
            assert space_id not in listed.text
            for path in (
                f"/admin/space/details/{space_id}",
                f"/admin/space/edit/{space_id}",
                f"/admin/space/background/{space_id}",
                "/admin/space/details/not-a-uuid",
            ):
                page = await browser.client.get(path)
                assert page.status_code in (403, 404), path
                assert "first&#39;s secret" not in page.text
            edited = await browser.post(
                f"/admin/space/edit/{space_id}", {"name": "taken over", "extra": "{}"}
            )
            assert edited.status_code in (400, 404)
            token = await browser.csrf()
            await browser.client.delete(
                f"/admin/space/delete?pks={space_id}", headers={"X-CSRF-Token": token}
            )
            switched = await browser.post("/admin/switch", {"database_id": first.database_id})
            assert switched.status_code == 404
            databases = await browser.client.get(f"/admin/database/details/{first.database_id}")
            assert databases.status_code == 404
        assert "first's secret" in await space_names(client, first.key)

    async def test_item_ids_read_and_written_as_the_api_has_them(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        declared = await client.post(
            "/v1/items-properties/",
            headers=registration.key,
            json={"property_name": "title", "value_type": "unicode"},
        )
        assert declared.status_code == 201, declared.text
        item_id = str(uuid.uuid4())
        async with browsers() as browser:
            await logged_in(browser, registration)
            made = await browser.post(
                "/admin/item/create", {"item_id": item_id, "properties": '{"title": "Dune"}'}
            )
            assert made.status_code == 302, made.text
            bad = await browser.post("/admin/item/create", {"item_id": "7", "properties": "{}"})
            assert bad.status_code == 400
            assert "uuid" in bad.text
            for properties, named in (('{"colour": "red"}', "colour"), ('{"title": 5}', "title")):
                refused = await browser.post(
                    "/admin/item/create", {"item_id": str(uuid.uuid4()), "properties": properties}
                )
                assert (refused.status_code, named in refused.text) == (400, True), refused.text
            details = await browser.client.get(f"/admin/item/details/{item_id}")
            assert details.status_code == 200
            assert "Dune" in details.text
            user_id = str(uuid.uuid4())
            made = await browser.post(
                "/admin/user/create", {"user_id": user_id, "properties": "{}"}
            )
            assert made.status_code == 302, made.text
            rated = await browser.post(
                "/admin/rating/create",
                {"user_id": user_id, "item_id": item_id, "rating": "8.5", "timestamp": ""},
            )
            assert rated.status_code == 302, rated.text
        key = registration.key
        read = await client.get(f"/v1/items/{item_id}/", headers=key)
        assert read.status_code == 200, read.text
        ratings = await client.get(f"/v1/users/{user_id}/ratings/", headers=key)
        assert [r["rating"] for r in ratings.json()["user_ratings"]] == [8.5]
        counters = (await client.get("/v1/databases/current/", headers=key)).json()["counters"]
        assert counters == {"rating": 1, "user": 1, "item": 1}

    async def test_writes_are_checked_as_the_api_checks_them(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            await logged_in(browser, registration)
            too_long = await create_space(browser, "x" * 201)
            assert too_long.status_code == 400
            not_an_image = await create_space(
                browser, "with a text file", background=("a.png", b"not an image", "image/png")
            )
            assert not_an_image.status_code == 400
            assert "PNG, JPEG, WebP or GIF" in not_an_image.text
            orphan = await browser.post(
                "/admin/rating/create",
                {"user_id": str(uuid.uuid4()), "item_id": str(uuid.uuid4()), "rating": "5"},
            )
            assert orphan.status_code == 400
            assert "refused" in orphan.text
        names = await space_names(client, registration.key)
        assert "with a text file" not in names


class TestDocs:
    """The API docs page is authorised by the admin session: a bearer token of its account
    and database, good in the API, on a page no cache keeps."""

    TOKEN = re.compile(r'var token = "([^"]+)"')

    async def test_the_session_authorises_the_docs_page(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            anonymous = await browser.client.get("/docs")
            assert anonymous.status_code == 200
            assert "preauthorizeApiKey" not in anonymous.text
            await logged_in(browser, registration)
            page = await browser.client.get("/docs")
            assert page.headers["cache-control"] == "no-store"
            match = self.TOKEN.search(page.text)
            assert match is not None, page.text
            bearer = {"Authorization": f"Bearer {match[1]}"}
            whoami = (await client.get("/v1/whoami/", headers=bearer)).json()
            assert whoami["database_id"] == registration.database_id
            await browser.client.get("/admin/logout")
            assert "preauthorizeApiKey" not in (await browser.client.get("/docs")).text


class TestRoles:
    async def test_frontend_reads_only(self, client: httpx.AsyncClient, browsers: Browsers) -> None:
        root = await ready_registration(client)
        made = await add_account(client, root.bearer, "frontend")
        async with browsers() as browser:
            assert (await browser.login(made.email, root.database_id)).status_code == 302
            listed = await browser.client.get("/admin/space/list")
            assert listed.status_code == 200
            assert "/admin/space/create" not in listed.text
            assert (await browser.client.get("/admin/space/create")).status_code == 403
            refused = await create_space(browser, "by frontend")
            assert refused.status_code == 403
            assert (await browser.client.get("/admin/database/list")).status_code == 403
            keys = await browser.post("/admin/api-keys/new", {"name": "x", "role": "frontend"})
            assert keys.status_code == 403
        names = await space_names(client, root.key)
        assert "by frontend" not in names

    async def test_the_template_is_for_operators_only(
        self, client: httpx.AsyncClient, browsers: Browsers, engine: AsyncEngine
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            await logged_in(browser, registration)
            assert (await browser.client.get("/admin/template-space/list")).status_code == 403
            assert "Template" not in (await browser.client.get("/admin/")).text
            refused = await browser.post(
                "/admin/template-space/create", {"name": "x", "extra": "{}"}
            )
            assert refused.status_code == 403
        async with engine.begin() as connection:
            await connection.execute(
                update(Account).where(Account.email == registration.email).values(is_operator=True)
            )
        name = f"template {uuid.uuid4().hex[:6]}"
        async with browsers() as browser:
            await logged_in(browser, registration)
            assert (await browser.client.get("/admin/template-space/list")).status_code == 200
            assert "Template spaces" in (await browser.client.get("/admin/")).text
            made = await browser.post(
                "/admin/template-space/create", {"name": name, "description": "", "extra": "{}"}
            )
            assert made.status_code == 302, made.text
            assert name in await space_names(client)  # the template, read without credentials
            listed = await browser.client.get(f"/admin/template-space/list?search={name}")
            [space_id] = space_ids(listed.text)
            token = await browser.csrf()
            gone = await browser.client.delete(
                f"/admin/template-space/delete?pks={space_id}", headers={"X-CSRF-Token": token}
            )
            assert gone.status_code == 200
        assert name not in await space_names(client)


class TestAccountMenu:
    async def test_keys_are_made_shown_once_and_revoked(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        async with browsers() as browser:
            await logged_in(browser, registration)
            made = await browser.post("/admin/api-keys/new", {"name": "ci", "role": "backend"})
            assert made.status_code == 200, made.text
            assert made.headers["cache-control"] == "no-store"
            match = re.search(r'id="new-api-key" value="(tnt_[A-Za-z0-9]+)"', made.text)
            assert match is not None
            key = {"X-API-Key": match[1]}
            assert (await client.get("/v1/spaces", headers=key)).status_code == 200
            menu = (await browser.client.get("/admin/")).text
            assert match[1] not in menu
            key_id = re.findall(r'name="key_id" value="([^"]+)"', menu)[-1]
            revoked = await browser.post("/admin/api-keys/revoke", {"key_id": key_id})
            assert revoked.status_code == 302
        assert (await client.get("/v1/spaces", headers=key)).status_code == 401

    async def test_switching_to_another_ready_database(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        made = await client.post(
            "/v1/databases/",
            headers=registration.bearer,
            json={"name": "second", "item_id_type": "uint32", "user_id_type": "uuid"},
        )
        assert made.status_code == 201, made.text
        second = made.json()["id"]
        async with browsers() as browser:
            await logged_in(browser, registration)
            for _ in range(200):
                if second in (await browser.client.get("/admin/")).text:
                    break
                await asyncio.sleep(0.05)
            switched = await browser.post("/admin/switch", {"database_id": second})
            assert switched.status_code == 302, switched.text
            page = await browser.client.get("/admin/")
            assert '<strong id="current-database">second</strong>' in page.text

    async def test_root_manages_databases_and_accounts(
        self, client: httpx.AsyncClient, browsers: Browsers
    ) -> None:
        registration = await ready_registration(client)
        email = f"made.{uuid.uuid4().hex[:8]}@example.com"
        async with browsers() as browser:
            await logged_in(browser, registration)
            made = await browser.post(
                "/admin/database/create",
                {
                    "name": "from admin",
                    "description": "",
                    "item_id_type": "uint32",
                    "user_id_type": "uuid",
                },
            )
            assert made.status_code == 302, made.text
            account = await browser.post(
                "/admin/account/create", {"email": email, "password": PASSWORD, "role": "backend"}
            )
            assert account.status_code == 302, account.text
            accounts = await browser.client.get("/admin/account/list")
            assert email in accounts.text
        listed = await client.get("/v1/databases/?page=1&amt=10", headers=registration.bearer)
        assert "from admin" in {database["name"] for database in listed.json()["databases"]}


class TestThrottle:
    async def test_failed_logins_are_throttled_as_the_api_does(
        self, client: httpx.AsyncClient, browsers: Browsers, settings: Settings
    ) -> None:
        email = f"guess.{uuid.uuid4().hex[:8]}@example.com"
        async with browsers() as browser:
            for _ in range(settings.login_failures_per_account):
                assert (await browser.login(email, "", "wrong password")).status_code == 400
            throttled = await browser.login(email, "", "wrong password")
            assert throttled.status_code == 429
        api = await client.post(
            "/v1/login/individual/", json={"email": email, "password": "wrong password"}
        )
        assert api.status_code == 429


class TestOperatorsCli:
    async def test_grant_and_revoke(
        self, client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine
    ) -> None:
        registration = await ready_registration(client)

        async def is_operator() -> bool:
            async with engine.connect() as connection:
                return bool(
                    await connection.scalar(
                        select(Account.is_operator).where(Account.email == registration.email)
                    )
                )

        granted = await tenantry(settings, "operators", "grant", registration.email.upper())
        assert granted.exit_code == 0, granted.output
        assert await is_operator()
        revoked = await tenantry(settings, "operators", "revoke", registration.email)
        assert revoked.exit_code == 0, revoked.output
        assert not await is_operator()
        unknown = await tenantry(settings, "operators", "grant", "nobody@example.com")
        assert unknown.exit_code == 1
