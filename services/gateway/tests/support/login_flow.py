"""Helpers of the browser login tests: the test client plays the browser.

It follows the redirect chain by hand: ``/login`` -> GitHub's consent page
(the fake GitHub) -> ``/login`` callback -> ``rd``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from http.cookies import SimpleCookie

import httpx
from rsp_gateway.config import Config
from rsp_gateway.factory import ProcessContext
from rsp_gateway.models.session import SessionState

from .fake_github import FakeGitHub, FakeGitHubTeam, FakeGitHubUser

__all__ = [
    "BASE_URL",
    "GROUP_MAPPING",
    "add_alice",
    "cookie_state",
    "github_consent",
    "github_login",
    "github_login_config",
    "set_cookie_attributes",
    "start_login",
]

BASE_URL = "http://localhost:8000"
"""Origin of the gateway in the shared ``config`` and ``client`` fixtures."""

GROUP_MAPPING = {
    "exec:notebook": ["astro-observers", "astro-admins"],
    "read:tap": ["astro-observers"],
    "user:token": ["astro-observers"],
    "admin:token": ["astro-admins"],
}
"""Scopes of the teams ``astro/observers`` and ``astro/admins``."""


def github_login_config(
    make_config: Callable[..., Config], github: FakeGitHub, **overrides: object
) -> Config:
    """A configuration with GitHub login at the fake and `GROUP_MAPPING`."""
    values: dict[str, object] = {
        "dev_login": False,
        "github": github.github_config(timeout=timedelta(seconds=0.5)),
        "group_mapping": GROUP_MAPPING,
    }
    values.update(overrides)
    return make_config(**values)


def add_alice(github: FakeGitHub) -> FakeGitHubUser:
    """Alice: three addresses (one primary and verified) and three teams."""
    return github.add_user(
        FakeGitHubUser(
            login="Alice-Example",
            id=4242,
            name="Alice Example",
            email="alice.public@example.org",
            emails=[
                {"email": "old@example.org", "primary": False, "verified": True},
                {"email": "fake@example.org", "primary": True, "verified": False},
                {"email": "alice@example.org", "primary": True, "verified": True},
            ],
            teams=[
                FakeGitHubTeam("astro", "observers", 11),
                FakeGitHubTeam("other-org", "friends", 13),
                FakeGitHubTeam("astro", "tea-club", 14),
            ],
        )
    )


def cookie_state(
    context: ProcessContext, response: httpx.Response, name: str
) -> SessionState:
    """The session state a response put in the cookie (empty if removed)."""
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    morsel = cookie.get(name)
    return context.cookie_codec.decode(morsel.value if morsel else None)


def set_cookie_attributes(response: httpx.Response) -> dict[str, str]:
    """The attributes of the response's one Set-Cookie header, lowercased.

    The key ``""`` holds ``name=value``.
    """
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1
    name_value, *attributes = (part.strip() for part in headers[0].split(";"))
    result = {"": name_value}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        result[key.lower()] = value
    return result


async def start_login(client: httpx.AsyncClient, rd: str | None = "/nb/hub") -> str:
    """``GET /login``: returns GitHub's authorize URL."""
    params = {"rd": rd} if rd is not None else {}
    response = await client.get("/login", params=params)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


async def github_consent(authorize_url: str, base_url: str = BASE_URL) -> str:
    """The browser at GitHub: returns the callback URL GitHub sends it to."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(authorize_url)
    assert response.status_code == 302
    callback = str(response.headers["location"])
    assert callback.startswith(f"{base_url}/login?")
    return callback


async def github_login(
    client: httpx.AsyncClient, rd: str | None = "/nb/hub"
) -> httpx.Response:
    """The whole flow; returns the gateway's answer to the callback."""
    return await client.get(await github_consent(await start_login(client, rd)))
