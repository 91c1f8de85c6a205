"""Helpers of the group refresh tests: GitHub logins and the credential table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from rsp_gateway.config import Config
from rsp_gateway.factory import ProcessContext
from rsp_gateway.models.token import Token

from .fake_github import FakeGitHub, FakeGitHubTeam, FakeGitHubUser
from .login_flow import cookie_state, github_login, github_login_config

__all__ = [
    "REFRESH_MAPPING",
    "TAP_TEAM",
    "add_bob",
    "credential_rows",
    "github_session",
    "make_due",
    "refresh_config",
]

REFRESH_MAPPING = {
    "exec:notebook": ["astro-observers"],
    "user:token": ["astro-observers"],
    "read:tap": ["astro-tap"],
    "admin:token": ["astro-admins"],
}
"""One scope per team where it matters: losing ``astro/tap`` loses ``read:tap``."""

TAP_TEAM = FakeGitHubTeam("astro", "tap", 15)


def refresh_config(
    make_config: Callable[..., Config], github: FakeGitHub, **overrides: object
) -> Config:
    """GitHub login at the fake with `REFRESH_MAPPING`."""
    values: dict[str, object] = {"group_mapping": REFRESH_MAPPING}
    values.update(overrides)
    return github_login_config(make_config, github, **values)


def add_bob(github: FakeGitHub) -> FakeGitHubUser:
    """Bob: observers and tap, so exec:notebook, user:token and read:tap."""
    return github.add_user(
        FakeGitHubUser(
            login="bob",
            id=5151,
            name="Bob Example",
            emails=[{"email": "bob@example.org", "primary": True, "verified": True}],
            teams=[FakeGitHubTeam("astro", "observers", 11), TAP_TEAM],
        )
    )


async def github_session(
    client: httpx.AsyncClient, context: ProcessContext, config: Config
) -> Token:
    """Log in anew through the fake GitHub; the session token.

    The client forgets any earlier session first (a browser with a session
    is not sent to GitHub) and keeps the new session's cookie.
    """
    client.cookies.clear()
    response = await github_login(client)
    assert response.status_code == 302, response.text
    token = cookie_state(context, response, config.cookie_name).token
    assert token
    return Token.from_str(token)


def _plain(database_url: str) -> str:
    return database_url.replace("+asyncpg", "", 1)


async def make_due(
    database_url: str, ago: timedelta = timedelta(hours=2), key: str | None = None
) -> None:
    """Pretend the sessions (or one) were last refreshed ``ago``."""
    connection = await asyncpg.connect(_plain(database_url))
    try:
        query = "UPDATE github_credential SET refreshed = now() - $1::interval"
        if key is None:
            await connection.execute(query, ago)
        else:
            await connection.execute(query + " WHERE token = $2", ago, key)
    finally:
        await connection.close()


async def credential_rows(database_url: str) -> list[dict[str, Any]]:
    """Every row of ``github_credential`` as stored."""
    connection = await asyncpg.connect(_plain(database_url))
    try:
        rows = await connection.fetch("SELECT * FROM github_credential")
    finally:
        await connection.close()
    return [dict(r) for r in rows]
