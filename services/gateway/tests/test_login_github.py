"""The whole GitHub login flow against the fake GitHub, over real HTTP.

The test client plays the browser and follows the redirect chain by hand:
``/login`` -> GitHub's consent page -> ``/login`` callback -> ``rd``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from conftest import MakeSession
from fastapi import FastAPI
from rsp_gateway.config import Config
from rsp_gateway.factory import ProcessContext
from rsp_gateway.main import create_app
from rsp_gateway.models.token import Token
from rsp_gateway.services.token import TokenService
from rsp_gateway.storage.github import GITHUB_SCOPES
from support.fake_github import FakeGitHub, FakeGitHubTeam, FakeGitHubUser
from support.login_flow import (
    BASE_URL,
    GROUP_MAPPING,
    add_alice,
    cookie_state,
    github_consent,
    github_login,
    github_login_config,
    set_cookie_attributes,
    start_login,
)
from support.return_urls import REFUSED_BASE_URL, REFUSED_RETURN_URLS


@pytest.fixture
def config(make_config: Callable[..., Config], fake_github: FakeGitHub) -> Config:
    return github_login_config(make_config, fake_github)


@pytest.fixture
def alice(fake_github: FakeGitHub) -> FakeGitHubUser:
    return add_alice(fake_github)


async def _token_count(database_url: str) -> int:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
    try:
        count: int = await connection.fetchval("SELECT count(*) FROM token")
    finally:
        await connection.close()
    return count


async def test_full_login_flow(
    client: httpx.AsyncClient,
    config: Config,
    fake_github: FakeGitHub,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    authorize_url = await start_login(client, "/nb/hub?x=1")
    url = urlsplit(authorize_url)
    assert authorize_url.startswith(f"{fake_github.base_url}/login/oauth/authorize?")
    query = parse_qs(url.query)
    assert query["client_id"] == [fake_github.client_id]
    assert query["redirect_uri"] == [f"{BASE_URL}/login"]
    assert query["scope"] == [GITHUB_SCOPES]
    assert len(query["state"][0]) >= 32

    callback = await github_consent(authorize_url)
    response = await client.get(callback)
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}/nb/hub?x=1"

    state = cookie_state(process_context, response, config.cookie_name)
    assert state.token
    assert state.csrf
    assert state.login_state is None
    data = await token_service.validate(Token.from_str(state.token))
    assert data is not None
    assert data.token_type == "session"
    assert data.username == "alice-example"
    assert data.uid == 4242
    assert data.name == "Alice Example"
    assert data.email == "alice@example.org"
    assert [(g.name, g.id) for g in data.groups] == [
        ("astro-observers", 11),
        ("astro-tea-club", 14),
        ("other-org-friends", 13),
    ]
    assert data.scopes == {"exec:notebook", "read:tap", "user:token"}


async def test_cookie_flags(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    response = await client.get("/login")
    started = set_cookie_attributes(response)
    assert started["httponly"] == ""
    assert started["samesite"] == "lax"
    assert started["path"] == "/"
    assert "secure" not in started  # http://localhost only

    response = await client.get(await github_consent(response.headers["location"]))
    attributes = set_cookie_attributes(response)
    assert attributes[""].startswith(f"{config.cookie_name}=")
    assert attributes["httponly"] == ""
    assert attributes["samesite"] == "lax"
    assert attributes["path"] == "/"
    assert "secure" not in attributes
    # The cookie lives as long as the session token.
    state = cookie_state(process_context, response, config.cookie_name)
    assert state.token
    data = await token_service.validate(Token.from_str(state.token))
    assert data is not None
    assert data.expires is not None
    remaining = (data.expires - datetime.now(tz=UTC)).total_seconds()
    assert abs(int(attributes["max-age"]) - remaining) < 5
    assert abs(int(attributes["max-age"]) - config.session_lifetime.total_seconds()) < 5


@pytest.fixture
async def public_client(
    make_config: Callable[..., Config], fake_github: FakeGitHub
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """A client of a gateway at an HTTPS origin (secure cookies)."""
    config = make_config(
        base_url=REFUSED_BASE_URL,
        environment="idfdev",
        dev_login=False,
        github=fake_github.github_config(),
        group_mapping=GROUP_MAPPING,
    )
    app = create_app(config)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=REFUSED_BASE_URL
        ) as http:
            yield http, app


async def test_cookie_secure_on_https(
    public_client: tuple[httpx.AsyncClient, FastAPI], alice: FakeGitHubUser
) -> None:
    client, _ = public_client
    response = await client.get("/login", params={"rd": "/portal/"})
    assert response.status_code == 302
    assert "secure" in set_cookie_attributes(response)
    callback = await github_consent(response.headers["location"], REFUSED_BASE_URL)
    response = await client.get(callback)
    assert response.status_code == 302
    assert response.headers["location"] == f"{REFUSED_BASE_URL}/portal/"
    assert "secure" in set_cookie_attributes(response)


@pytest.mark.parametrize("path", ["/login", "/logout"])
async def test_refused_return_urls(
    public_client: tuple[httpx.AsyncClient, FastAPI], path: str
) -> None:
    client, _ = public_client
    wrong: list[tuple[str, int | str]] = []
    for rd in REFUSED_RETURN_URLS:
        response = await client.get(path, params={"rd": rd})
        if response.status_code != 400 or "location" in response.headers:
            wrong.append((rd, response.status_code))
        elif "text/html" not in response.headers["content-type"]:
            wrong.append((rd, "not an HTML page"))
        elif "Only addresses on this platform are allowed" not in response.text:
            wrong.append((rd, "does not say why"))
    assert wrong == []


async def test_refused_logout_keeps_session(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    response = await github_login(client)
    token = cookie_state(process_context, response, config.cookie_name).token
    assert token
    response = await client.get("/logout", params={"rd": "https://evil.example.com/"})
    assert response.status_code == 400
    assert await token_service.validate(Token.from_str(token)) is not None
    assert (await client.get("/auth/api/v1/login")).status_code == 200


async def test_default_return_url(
    client: httpx.AsyncClient, alice: FakeGitHubUser
) -> None:
    response = await github_login(client, rd=None)
    assert response.headers["location"] == f"{BASE_URL}/"


async def test_logged_in_goes_straight_to_rd(
    client: httpx.AsyncClient, fake_github: FakeGitHub, alice: FakeGitHubUser
) -> None:
    await github_login(client)
    authorizations = len(fake_github.authorize_requests)
    response = await client.get("/login", params={"rd": "/portal/"})
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}/portal/"
    assert len(fake_github.authorize_requests) == authorizations


async def test_session_works_on_api_login(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
) -> None:
    assert (await client.get("/auth/api/v1/login")).status_code == 401
    response = await github_login(client)
    csrf = cookie_state(process_context, response, config.cookie_name).csrf

    response = await client.get("/auth/api/v1/login")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["csrf"] == csrf
    assert body["username"] == "alice-example"
    assert body["scopes"] == ["exec:notebook", "read:tap", "user:token"]
    assert body["config"]["scopes"] == [
        {"name": name, "description": description}
        for name, description in sorted(config.known_scopes.items())
    ]
    assert "set-cookie" not in response.headers


async def test_api_login_creates_missing_csrf(
    client: httpx.AsyncClient,
    config: Config,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
    process_context: ProcessContext,
) -> None:
    token = await make_session("bob")
    client.cookies.set(config.cookie_name, make_session_cookie(token))
    response = await client.get("/auth/api/v1/login")
    assert response.status_code == 200
    csrf = response.json()["csrf"]
    assert csrf
    state = cookie_state(process_context, response, config.cookie_name)
    assert state.csrf == csrf
    assert state.token == str(token)
    assert set_cookie_attributes(response)["httponly"] == ""
    # The next call finds it in the cookie.
    again = await client.get("/auth/api/v1/login")
    assert again.json()["csrf"] == csrf


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Cookie": "rsp_session=garbage"},
        {"Cookie": "rsp_session="},
        {"Authorization": "Bearer gt-AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"},
    ],
)
async def test_api_login_needs_session_cookie(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/auth/api/v1/login", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"][0]["type"] == "invalid_token"


async def test_session_works_on_ingress(
    client: httpx.AsyncClient, alice: FakeGitHubUser
) -> None:
    await github_login(client)
    response = await client.get("/ingress/auth", params={"scope": "exec:notebook"})
    assert response.status_code == 200
    assert response.headers["x-auth-request-user"] == "alice-example"
    assert response.headers["x-auth-request-email"] == "alice@example.org"
    refused = await client.get("/ingress/auth", params={"scope": "admin:token"})
    assert refused.status_code == 403


async def test_team_group_scope_mapping(
    client: httpx.AsyncClient,
    config: Config,
    fake_github: FakeGitHub,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    fake_github.add_user(
        FakeGitHubUser(
            login="carol",
            id=77,
            teams=[FakeGitHubTeam("astro", "admins", 21), FakeGitHubTeam("x", "y", 22)],
        )
    )
    response = await github_login(client)
    token = cookie_state(process_context, response, config.cookie_name).token
    assert token
    data = await token_service.validate(Token.from_str(token))
    assert data is not None
    assert data.scopes == {"admin:token", "exec:notebook"}
    assert [(g.name, g.id) for g in data.groups] == [("astro-admins", 21), ("x-y", 22)]
    assert data.email is None


async def test_user_without_scopes(
    client: httpx.AsyncClient,
    config: Config,
    fake_github: FakeGitHub,
    process_context: ProcessContext,
    database_url: str,
) -> None:
    fake_github.add_user(
        FakeGitHubUser(
            login="dave",
            id=88,
            teams=[
                FakeGitHubTeam("other-org", "friends", 31),
                FakeGitHubTeam("astro", "tea-club", 32),
            ],
        )
    )
    before = await _token_count(database_url)
    response = await github_login(client)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "none of\n    your groups grants access" in response.text
    assert "dave" in response.text
    assert "<code>other-org-friends</code>" in response.text
    assert "<code>astro-tea-club</code>" in response.text
    assert "add you to a team" in response.text
    assert cookie_state(process_context, response, config.cookie_name).token is None
    assert await _token_count(database_url) == before
    assert (await client.get("/auth/api/v1/login")).status_code == 401


async def test_user_without_teams(
    client: httpx.AsyncClient, fake_github: FakeGitHub
) -> None:
    fake_github.add_user(FakeGitHubUser(login="erin", id=99))
    response = await github_login(client)
    assert response.status_code == 403
    assert "We saw no group for you." in response.text


async def test_logout_revokes_session(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    response = await github_login(client)
    token = Token.from_str(
        cookie_state(process_context, response, config.cookie_name).token or ""
    )
    old_cookie = client.cookies[config.cookie_name]
    data = await token_service.validate(token)
    assert data is not None
    child = await token_service.get_notebook_token(data, ip_address="127.0.0.1")
    assert await token_service.validate(child) is not None

    response = await client.get("/logout", params={"rd": "/portal/"})
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}/portal/"
    removed = set_cookie_attributes(response)
    assert removed["max-age"] == "0"
    assert removed["path"] == "/"
    assert await token_service.validate(token) is None
    assert await token_service.validate(child) is None

    # The old cookie, replayed, no longer works anywhere.
    client.cookies.set(config.cookie_name, old_cookie)
    assert (await client.get("/auth/api/v1/login")).status_code == 401
    ingress = await client.get("/ingress/auth", params={"scope": "exec:notebook"})
    assert ingress.status_code == 401


async def test_logout_without_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/logout")
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}/"


# Logout also has GitHub delete the access token the session's login made.


async def _log_in(
    client: httpx.AsyncClient, config: Config, process_context: ProcessContext
) -> Token:
    response = await github_login(client)
    state = cookie_state(process_context, response, config.cookie_name)
    return Token.from_str(state.token or "")


async def test_logout_deletes_the_github_token(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    fake_github: FakeGitHub,
    process_context: ProcessContext,
) -> None:
    await _log_in(client, config, process_context)
    (github_token,) = fake_github.tokens

    response = await client.get("/logout")

    assert response.status_code == 302
    assert fake_github.deleted_tokens == [github_token]
    assert github_token not in fake_github.tokens


async def test_logout_succeeds_when_github_fails(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    fake_github: FakeGitHub,
    process_context: ProcessContext,
    token_service: TokenService,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = await _log_in(client, config, process_context)
    (github_token,) = fake_github.tokens
    fake_github.delete_failure = 503

    response = await client.get("/logout")

    assert response.status_code == 302
    assert await token_service.validate(token) is None
    assert fake_github.deleted_tokens == []
    logged = capsys.readouterr()
    output = logged.out + logged.err
    assert "Could not revoke the session's GitHub token" in output
    assert github_token not in output
    assert fake_github.client_secret not in output


async def test_a_token_github_forgot_still_logs_out(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    fake_github: FakeGitHub,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    token = await _log_in(client, config, process_context)
    fake_github.revoke_tokens(alice.login)

    response = await client.get("/logout")

    assert response.status_code == 302
    assert await token_service.validate(token) is None
    assert fake_github.deleted_tokens == []
