"""GitHub storage against the fake GitHub over real HTTP: OAuth and identity."""

from __future__ import annotations

import socket
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import AnyHttpUrl, SecretStr
from rsp_gateway.exceptions import LoginFailedError, UpstreamError
from rsp_gateway.storage.github import GITHUB_SCOPES, GitHubStorage
from support.fake_github import (
    FakeGitHub,
    FakeGitHubTeam,
    FakeGitHubUser,
    TokenFailure,
)

CALLBACK = "http://localhost:8000/login"


def _alice() -> FakeGitHubUser:
    return FakeGitHubUser(
        login="Alice-Example",
        id=4242,
        name="Alice Example",
        email="alice.public@example.org",
        emails=[
            {"email": "a@old.example.org", "primary": False, "verified": True},
            {"email": "alice@example.org", "primary": True, "verified": True},
        ],
        teams=[
            FakeGitHubTeam("astro", "observers", 11),
            FakeGitHubTeam("astro", "admins", 12),
            FakeGitHubTeam("other-org", "friends", 13),
        ],
    )


async def _code(github: FakeGitHub, storage: GitHubStorage, state: str = "s1") -> str:
    """Go through the fake's consent page as a browser would; return the code."""
    url = await storage.authorization_url(state)
    async with httpx.AsyncClient() as browser:
        response = await browser.get(url)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


async def test_authorization_url(fake_github: FakeGitHub) -> None:
    storage = GitHubStorage(fake_github.github_config(), CALLBACK)
    url = urlsplit(await storage.authorization_url("the-state"))
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        f"{fake_github.base_url}/login/oauth/authorize"
    )
    query = parse_qs(url.query)
    assert query == {
        "response_type": ["code"],
        "client_id": [fake_github.client_id],
        "redirect_uri": [CALLBACK],
        "scope": [GITHUB_SCOPES],
        "state": ["the-state"],
    }


async def test_user_info_follows_pagination(fake_github: FakeGitHub) -> None:
    fake_github.add_user(_alice())
    fake_github.page_size = 1
    storage = GitHubStorage(fake_github.github_config(), CALLBACK)
    info = await storage.get_user_info(await _code(fake_github, storage))

    assert info.login == "Alice-Example"
    assert info.id == 4242
    assert info.name == "Alice Example"
    assert info.public_email == "alice.public@example.org"
    assert [e.email for e in info.emails if e.primary] == ["alice@example.org"]
    assert [(t.group_name, t.id) for t in info.teams] == [
        ("astro-observers", 11),
        ("astro-admins", 12),
        ("other-org-friends", 13),
    ]
    # Three pages of teams and two of emails were read.
    assert fake_github.api_requests.count("/user/teams") == 3
    assert fake_github.api_requests.count("/user/emails") == 2
    # The secret went in the form body, as GitHub documents it.
    assert fake_github.token_requests[0]["client_secret"] == fake_github.client_secret
    assert fake_github.token_requests[0]["redirect_uri"] == CALLBACK


async def test_code_can_be_used_once(fake_github: FakeGitHub) -> None:
    fake_github.add_user(_alice())
    storage = GitHubStorage(fake_github.github_config(), CALLBACK)
    code = await _code(fake_github, storage)
    await storage.get_user_info(code)
    with pytest.raises(LoginFailedError):
        await storage.get_user_info(code)


async def test_unknown_code(fake_github: FakeGitHub) -> None:
    storage = GitHubStorage(fake_github.github_config(), CALLBACK)
    with pytest.raises(LoginFailedError):
        await storage.get_user_info("0123456789abcdef0123")


async def test_wrong_client_secret(fake_github: FakeGitHub) -> None:
    fake_github.add_user(_alice())
    config = fake_github.github_config().model_copy(
        update={"client_secret": SecretStr("wrong")}
    )
    storage = GitHubStorage(config, CALLBACK)
    code = await _code(fake_github, storage)
    with pytest.raises(UpstreamError, match="incorrect_client_credentials"):
        await storage.get_user_info(code)


@pytest.mark.parametrize("failure", ["server-error", "not-json"])
async def test_token_endpoint_failure(
    fake_github: FakeGitHub, failure: TokenFailure
) -> None:
    fake_github.add_user(_alice())
    storage = GitHubStorage(fake_github.github_config(), CALLBACK)
    code = await _code(fake_github, storage)
    fake_github.token_failure = failure
    with pytest.raises(UpstreamError):
        await storage.get_user_info(code)


async def test_token_endpoint_timeout(fake_github: FakeGitHub) -> None:
    fake_github.add_user(_alice())
    fake_github.token_failure = "slow"
    fake_github.slow_seconds = 1.0
    config = fake_github.github_config(timeout=timedelta(seconds=0.2))
    storage = GitHubStorage(config, CALLBACK)
    code = await _code(fake_github, storage)
    with pytest.raises(UpstreamError, match="in time"):
        await storage.get_user_info(code)


@pytest.mark.parametrize("status", [401, 403, 500, 502])
async def test_api_failure(fake_github: FakeGitHub, status: int) -> None:
    fake_github.add_user(_alice())
    storage = GitHubStorage(fake_github.github_config(), CALLBACK)
    code = await _code(fake_github, storage)
    fake_github.api_failure = status
    with pytest.raises(UpstreamError, match=str(status)):
        await storage.get_user_info(code)


async def test_github_unreachable(fake_github: FakeGitHub) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = fake_github.github_config().model_copy(
        update={"token_url": AnyHttpUrl(f"http://127.0.0.1:{port}/token")}
    )
    storage = GitHubStorage(config, CALLBACK)
    with pytest.raises(UpstreamError, match="could not be reached"):
        await storage.get_user_info("0123456789abcdef0123")


async def test_pagination_never_leaves_api_host(fake_github: FakeGitHub) -> None:
    fake_github.add_user(_alice())
    fake_github.page_size = 1
    fake_github.link_base_url = "http://evil.example.com"
    config = fake_github.github_config()
    storage = GitHubStorage(config, CALLBACK)
    code = await _code(fake_github, storage)
    with pytest.raises(UpstreamError, match="another host"):
        await storage.get_user_info(code)
