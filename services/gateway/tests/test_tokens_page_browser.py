"""The token page in real headless Chromium, against the app served by uvicorn.

The browser gets a session cookie made directly (no login flow), then does
what a person would: list, create, copy, use, revoke, read the history.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import MakeSession
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from rsp_gateway.config import Config
from rsp_gateway.main import create_app
from rsp_gateway.models.token import Token, UserTokenRequest
from rsp_gateway.services.token import TokenService
from support.live_server import free_port, serve

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("RSP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SCREENSHOT = Path("/tmp/rsp-tokens-page.png")
SCOPES = ["exec:notebook", "read:tap", "user:token"]
TOKEN_RE = re.compile(r"^gt-[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$")


@pytest.fixture
def live_url(make_config: Callable[..., Config]) -> Iterator[str]:
    """Base URL of the gateway served by uvicorn on a free loopback port."""
    port = free_port()
    config = make_config(base_url=f"http://127.0.0.1:{port}")
    with serve(create_app(config), port) as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium."""
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _logged_in(
    browser: Browser,
    live_url: str,
    token: Token,
    config: Config,
    make_session_cookie: Callable[..., str],
) -> BrowserContext:
    context = await browser.new_context(base_url=live_url, timezone_id="UTC")
    await context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_url
    )
    await context.add_cookies(
        [
            {
                "name": config.cookie_name,
                "value": make_session_cookie(token),
                "url": live_url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    return context


async def _open(context: BrowserContext) -> Page:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto("/auth/tokens")
    await expect(page.locator("#token-page")).to_have_attribute("data-ready", "true")
    assert not errors, errors
    return page


async def _user_info(live_url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live_url) as http:
        return await http.get(
            "/auth/api/v1/user-info", headers={"Authorization": f"Bearer {token}"}
        )


async def test_create_use_revoke_and_history(
    browser: Browser,
    live_url: str,
    config: Config,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
) -> None:
    session = await make_session("alice", SCOPES, name="Alice Example")
    context = await _logged_in(browser, live_url, session, config, make_session_cookie)
    page = await _open(context)

    # The session is listed, marked as this browser's.
    sessions = page.locator('section[data-token-type="session"]')
    await expect(sessions.get_by_role("heading")).to_contain_text("Browser sessions")
    session_row = sessions.locator(f'tr[data-key="{session.key}"]')
    await expect(session_row).to_contain_text("this browser")
    await expect(page.get_by_test_id("username")).to_have_text("alice")

    # Only the user's own scopes are offered.
    boxes = page.locator('#scope-list input[type="checkbox"]')
    await expect(boxes).to_have_count(len(SCOPES))
    offered = sorted(await boxes.evaluate_all("els => els.map(e => e.value)"))
    assert offered == SCOPES
    await expect(page.get_by_label("admin:token")).to_have_count(0)

    # A missing name is reported in the page.
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("#create-error")).to_contain_text("Give the token a name")

    # Create a token that expires at the end of a chosen day.
    await page.get_by_label("Name", exact=True).fill("laptop")
    await page.get_by_role("checkbox", name="read:tap").check()
    expiry = (date.today() + timedelta(days=10)).isoformat()
    await page.get_by_label("Expiry date").fill(expiry)
    await expect(page.get_by_role("radio", name="At the end of")).to_be_checked()
    await page.get_by_role("button", name="Create token").click()

    shown = page.get_by_label("New token")
    await expect(shown).to_have_value(TOKEN_RE)
    new_token = await shown.input_value()
    await expect(page.locator("#new-token")).to_contain_text("will not be shown again")
    await expect(page.locator("#create-error")).to_be_hidden()
    await page.get_by_role("button", name="Copy").click()
    await expect(page.locator("#copy-status")).to_contain_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == new_token

    key = Token.from_str(new_token).key
    users = page.locator('section[data-token-type="user"]')
    row = users.locator(f'tr[data-key="{key}"]')
    await expect(row).to_contain_text("laptop")
    await expect(row).to_contain_text("read:tap")
    await expect(row).not_to_contain_text("exec:notebook")
    await expect(row.locator("time")).to_have_count(2)  # created, expires
    await expect(row).to_contain_text(expiry)

    # The new token works against the API.
    r = await _user_info(live_url, new_token)
    assert r.status_code == 200
    assert r.json()["username"] == "alice"

    # The history shows the creation.
    created = page.locator(f'#history-rows tr[data-key="{key}"][data-action="create"]')
    await expect(created).to_have_count(1)
    await expect(created).to_contain_text("Created")
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Once dismissed (or after a reload) the token is never shown again.
    await page.get_by_role("button", name="I have saved it").click()
    await expect(page.locator("#new-token")).to_be_hidden()
    await page.reload()
    await expect(page.locator("#token-page")).to_have_attribute("data-ready", "true")
    assert new_token not in await page.content()

    # Revoking asks first; cancelling keeps the token.
    revoke = page.get_by_role("button", name="Revoke token laptop")
    await revoke.click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text(key)
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    assert (await _user_info(live_url, new_token)).status_code == 200

    await revoke.click()
    await dialog.get_by_role("button", name="Revoke").click()
    await expect(users).to_have_count(0)
    assert (await _user_info(live_url, new_token)).status_code == 401

    # The user's history has both changes, newest first.
    actions = page.locator(f'#history-rows tr[data-key="{key}"]')
    await expect(actions).to_have_count(2)
    assert await actions.evaluate_all("rs => rs.map(r => r.dataset.action)") == [
        "revoke",
        "create",
    ]

    # Per-token history of the session: only its own changes.
    await session_row.get_by_role("button", name="History").click()
    await expect(page.locator("#history-subject")).to_contain_text(session.key)
    rows = page.locator("#history-rows tr")
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-key", session.key)
    await page.get_by_role("button", name="Show all tokens").click()
    await expect(page.locator("#history-rows tr")).to_have_count(3)
    await context.close()


async def test_api_errors_are_shown_in_the_page(
    browser: Browser,
    live_url: str,
    config: Config,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
) -> None:
    session = await make_session("alice", SCOPES)
    context = await _logged_in(browser, live_url, session, config, make_session_cookie)
    page = await _open(context)
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))

    await page.get_by_label("Name", exact=True).fill("twice")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("#new-token")).to_be_visible()
    await page.get_by_label("Name", exact=True).fill("twice")
    await page.get_by_role("button", name="Create token").click()
    error = page.locator("#create-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("already have a token named")
    assert dialogs == []
    await context.close()


async def test_history_pages(
    browser: Browser,
    live_url: str,
    config: Config,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
    token_service: TokenService,
) -> None:
    session = await make_session("alice", SCOPES)
    auth = await token_service.validate(session)
    assert auth is not None
    for i in range(21):
        await token_service.create_user_token(
            auth, "alice", UserTokenRequest(token_name=f"t{i}"), ip_address=None
        )
    context = await _logged_in(browser, live_url, session, config, make_session_cookie)
    page = await _open(context)
    rows = page.locator("#history-rows tr")
    await expect(rows).to_have_count(20)
    await expect(page.locator("#history-count")).to_contain_text("22 changes")
    newer = page.get_by_role("button", name="Newer")
    older = page.get_by_role("button", name="Older")
    await expect(newer).to_be_hidden()
    await older.click()
    await expect(rows).to_have_count(2)
    await expect(rows.last).to_have_attribute("data-key", session.key)
    await expect(older).to_be_hidden()
    await newer.click()
    await expect(rows).to_have_count(20)
    await context.close()


async def test_without_session_goes_to_login(browser: Browser, live_url: str) -> None:
    context = await browser.new_context(base_url=live_url)
    page = await context.new_page()
    response = await page.goto("/auth/tokens")
    assert response is not None
    assert page.url.startswith(f"{live_url}/login?rd=")
    assert "rd=/auth/tokens" in page.url or "rd=%2Fauth%2Ftokens" in page.url
    await context.close()
