"""The local platform as a person uses it: ``make dev``, a browser, then curl.

The whole path is real: ``rsp-platform dev`` starts nginx in front of the
gateway, headless Chromium logs in through the development identity provider,
creates a token on ``/auth/tokens``, and curl uses that token against
``/auth/api/v1/user-info`` through nginx; logging out ends the session.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from dev_platform import RunningPlatform, running_platform
from playwright.async_api import Browser, Page, async_playwright, expect

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("RSP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
HAVE_CHROMIUM = Path(CHROMIUM).exists()
TOKEN_RE = re.compile(r"^gt-[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[RunningPlatform]:
    """The local platform, started as ``make dev`` starts it."""
    if shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") is None:
        pytest.skip("nginx is not installed (scripts/bootstrap.sh installs it)")
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    with running_platform(tmp_path) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium."""
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} is missing (scripts/bootstrap.sh installs it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


def _curl(url: str, token: str) -> tuple[int, str]:
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "-w",
            "\n%{http_code}",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


async def _log_in(page: Page, platform: RunningPlatform) -> None:
    await page.goto(f"{platform.url}/auth/tokens")
    # No session: the token page sends the browser to the login form.
    await expect(page).to_have_url(re.compile(r"/login\?rd="))
    await page.get_by_label("User name").fill("alice")
    await page.get_by_label("Full name").fill("Alice Example")
    await page.get_by_label("Email").fill("alice@example.org")
    await page.get_by_label("Groups").fill("g_users")
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{platform.url}/auth/tokens")
    await expect(page.locator("#token-page")).to_have_attribute("data-ready", "true")


async def test_log_in_create_token_and_use_it_with_curl(
    platform: RunningPlatform, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await _log_in(page, platform)

    await page.get_by_label("Name", exact=True).fill("laptop")
    await page.get_by_role("checkbox", name="read:tap").check()
    await page.get_by_role("button", name="Create token").click()
    shown = page.get_by_label("New token")
    await expect(shown).to_have_value(TOKEN_RE)
    token = await shown.input_value()

    status, body = _curl(f"{platform.url}/auth/api/v1/user-info", token)
    assert status == 200, body
    info = json.loads(body)
    assert info["username"] == "alice"
    assert info["name"] == "Alice Example"
    assert info["email"] == "alice@example.org"
    assert [g["name"] for g in info["groups"]] == ["g_users"]

    status, body = _curl(f"{platform.url}/auth/api/v1/token-info", token)
    assert status == 200, body
    assert json.loads(body)["scopes"] == ["read:tap"]
    assert json.loads(body)["token_name"] == "laptop"

    # Logging out ends the session token: the old cookie opens nothing.
    cookies = await context.cookies()
    await page.goto(f"{platform.url}/logout")
    stale = await browser.new_context()
    await stale.add_cookies([{**c} for c in cookies])  # type: ignore[typeddict-item]
    again = await stale.new_page()
    await again.goto(f"{platform.url}/auth/tokens")
    await expect(again).to_have_url(re.compile(r"/login\?rd="))
    # A user token lives on after its creator's session ends.
    assert _curl(f"{platform.url}/auth/api/v1/user-info", token)[0] == 200
    await stale.close()
    await context.close()
