"""The whole GitHub login flow against the fake GitHub, over real HTTP.

The test client plays the browser and follows the redirect chain by hand:
``/login`` -> GitHub's consent page -> ``/login`` callback -> ``rd``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from asgi_lifespan import LifespanManager
from conftest import MakeSession
from fastapi import FastAPI
from rsp_gateway.config import Config
from rsp_gateway.factory import ProcessContext
from rsp_gateway.main import create_app
from rsp_gateway.models.session import SessionState
from rsp_gateway.models.token import Token
from rsp_gateway.services.token import TokenService
from rsp_gateway.storage.github import GITHUB_SCOPES
from support.fake_github import FakeGitHub, FakeGitHubTeam, FakeGitHubUser
from support.return_urls import REFUSED_BASE_URL, REFUSED_RETURN_URLS

BASE_URL = "http://localhost:8000"
GROUP_MAPPING = {
    "exec:notebook": ["astro-observers", "astro-admins"],
    "read:tap": ["astro-observers"],
    "user:token": ["astro-observers"],
    "admin:token": ["astro-admins"],
}


@pytest.fixture
def config(make_config: Callable[..., Config], fake_github: FakeGitHub) -> Config:
    return make_config(
        dev_login=False,
        github=fake_github.github_config(timeout=timedelta(seconds=0.5)),
        group_mapping=GROUP_MAPPING,
    )


@pytest.fixture
def alice(fake_github: FakeGitHub) -> FakeGitHubUser:
    return fake_github.add_user(
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


def _state(
    context: ProcessContext, response: httpx.Response, name: str
) -> SessionState:
    """The session state a response put in the cookie (empty if removed)."""
    cookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    morsel = cookie.get(name)
    return context.cookie_codec.decode(morsel.value if morsel else None)


def _set_cookie(response: httpx.Response) -> dict[str, str]:
    """The attributes of the response's one Set-Cookie header, lowercased."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1
    name_value, *attributes = (part.strip() for part in headers[0].split(";"))
    result = {"": name_value}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        result[key.lower()] = value
    return result


async def _start(client: httpx.AsyncClient, rd: str | None = "/nb/hub") -> str:
    """``GET /login``: returns GitHub's authorize URL."""
    params = {"rd": rd} if rd is not None else {}
    response = await client.get("/login", params=params)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def _consent(authorize_url: str, base_url: str = BASE_URL) -> str:
    """The browser at GitHub: returns the callback URL GitHub sends it to."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(authorize_url)
    assert response.status_code == 302
    callback = response.headers["location"]
    assert callback.startswith(f"{base_url}/login?")
    return callback


async def _login(
    client: httpx.AsyncClient, rd: str | None = "/nb/hub"
) -> httpx.Response:
    return await client.get(await _consent(await _start(client, rd)))


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
    authorize_url = await _start(client, "/nb/hub?x=1")
    url = urlsplit(authorize_url)
    assert authorize_url.startswith(f"{fake_github.base_url}/login/oauth/authorize?")
    query = parse_qs(url.query)
    assert query["client_id"] == [fake_github.client_id]
    assert query["redirect_uri"] == [f"{BASE_URL}/login"]
    assert query["scope"] == [GITHUB_SCOPES]
    assert len(query["state"][0]) >= 32

    callback = await _consent(authorize_url)
    response = await client.get(callback)
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}/nb/hub?x=1"

    state = _state(process_context, response, config.cookie_name)
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
    started = _set_cookie(response)
    assert started["httponly"] == ""
    assert started["samesite"] == "lax"
    assert started["path"] == "/"
    assert "secure" not in started  # http://localhost only

    response = await client.get(await _consent(response.headers["location"]))
    attributes = _set_cookie(response)
    assert attributes[""].startswith(f"{config.cookie_name}=")
    assert attributes["httponly"] == ""
    assert attributes["samesite"] == "lax"
    assert attributes["path"] == "/"
    assert "secure" not in attributes
    # The cookie lives as long as the session token.
    state = _state(process_context, response, config.cookie_name)
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
    assert "secure" in _set_cookie(response)
    callback = await _consent(response.headers["location"], REFUSED_BASE_URL)
    response = await client.get(callback)
    assert response.status_code == 302
    assert response.headers["location"] == f"{REFUSED_BASE_URL}/portal/"
    assert "secure" in _set_cookie(response)


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
    response = await _login(client)
    token = _state(process_context, response, config.cookie_name).token
    assert token
    response = await client.get("/logout", params={"rd": "https://evil.example.com/"})
    assert response.status_code == 400
    assert await token_service.validate(Token.from_str(token)) is not None
    assert (await client.get("/auth/api/v1/login")).status_code == 200


async def test_default_return_url(
    client: httpx.AsyncClient, alice: FakeGitHubUser
) -> None:
    response = await _login(client, rd=None)
    assert response.headers["location"] == f"{BASE_URL}/"


async def test_logged_in_goes_straight_to_rd(
    client: httpx.AsyncClient, fake_github: FakeGitHub, alice: FakeGitHubUser
) -> None:
    await _login(client)
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
    response = await _login(client)
    csrf = _state(process_context, response, config.cookie_name).csrf

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
    state = _state(process_context, response, config.cookie_name)
    assert state.csrf == csrf
    assert state.token == str(token)
    assert _set_cookie(response)["httponly"] == ""
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
    response = await _login(client)
    token = _state(process_context, response, config.cookie_name).token
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
    response = await _login(client)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "none of\n    your groups grants access" in response.text
    assert "dave" in response.text
    assert "<code>other-org-friends</code>" in response.text
    assert "<code>astro-tea-club</code>" in response.text
    assert "add you to a team" in response.text
    assert _state(process_context, response, config.cookie_name).token is None
    assert await _token_count(database_url) == before
    assert (await client.get("/auth/api/v1/login")).status_code == 401


async def test_user_without_teams(
    client: httpx.AsyncClient, fake_github: FakeGitHub
) -> None:
    fake_github.add_user(FakeGitHubUser(login="erin", id=99))
    response = await _login(client)
    assert response.status_code == 403
    assert "We saw no group for you." in response.text


async def test_bad_state(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
) -> None:
    callback = await _consent(await _start(client))
    query = parse_qs(urlsplit(callback).query)
    response = await client.get(
        "/login", params={"code": query["code"][0], "state": "forged-state"}
    )
    assert response.status_code == 403
    assert "does not belong to the login started in this browser" in response.text
    assert _state(process_context, response, config.cookie_name) == SessionState()
    # The state was consumed: even the right one fails now.
    response = await client.get(callback)
    assert response.status_code == 403
    assert "No login is in progress" in response.text


async def test_replayed_state(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    callback = await _consent(await _start(client))
    first = await client.get(callback)
    assert first.status_code == 302
    token = _state(process_context, first, config.cookie_name).token
    assert token

    # Same browser: no login in progress any more; the session survives.
    replay = await client.get(callback)
    assert replay.status_code == 403
    assert "No login is in progress" in replay.text
    assert (await client.get("/auth/api/v1/login")).status_code == 200

    # Another browser with the stolen callback URL but not the cookie.
    async with httpx.AsyncClient(
        transport=client._transport, base_url=BASE_URL
    ) as other:
        replay = await other.get(callback)
    assert replay.status_code == 403
    assert (
        "set-cookie" not in replay.headers
        or not _state(process_context, replay, config.cookie_name).token
    )


async def test_stale_state(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
) -> None:
    authorize_url = await _start(client)
    cookie = client.cookies[config.cookie_name]
    state = process_context.cookie_codec.decode(cookie)
    assert state.login_started is not None
    old = state.model_copy(
        update={"login_started": state.login_started - timedelta(minutes=11)}
    )
    client.cookies.set(config.cookie_name, process_context.cookie_codec.encode(old))
    response = await client.get(await _consent(authorize_url))
    assert response.status_code == 403
    assert "took too long" in response.text
    assert _state(process_context, response, config.cookie_name).token is None


async def test_missing_cookie_at_callback(
    client: httpx.AsyncClient, alice: FakeGitHubUser
) -> None:
    callback = await _consent(await _start(client))
    client.cookies.clear()
    response = await client.get(callback)
    assert response.status_code == 403
    assert "No login is in progress" in response.text


async def test_forged_cookie_at_callback(
    client: httpx.AsyncClient, config: Config, alice: FakeGitHubUser
) -> None:
    callback = await _consent(await _start(client))
    client.cookies.set(config.cookie_name, "not-a-fernet-token")
    response = await client.get(callback)
    assert response.status_code == 403


async def test_github_denies_consent(
    client: httpx.AsyncClient,
    config: Config,
    fake_github: FakeGitHub,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
) -> None:
    fake_github.deny = True
    callback = await _consent(await _start(client))
    assert "error=access_denied" in callback
    response = await client.get(callback)
    assert response.status_code == 403
    assert "You did not allow this platform" in response.text
    assert _state(process_context, response, config.cookie_name).token is None
    assert fake_github.token_requests == []


async def test_github_error_codes_not_echoed(
    client: httpx.AsyncClient, alice: FakeGitHubUser
) -> None:
    authorize_url = await _start(client)
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    response = await client.get(
        "/login", params={"error": "<script>alert(1)</script>", "state": state}
    )
    assert response.status_code == 403
    assert "<script>alert(1)" not in response.text
    assert "GitHub refused the login (unknown)" in response.text


@pytest.mark.parametrize("failure", ["server-error", "slow", "not-json"])
async def test_github_token_endpoint_failing(
    client: httpx.AsyncClient,
    config: Config,
    fake_github: FakeGitHub,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
    failure: str,
) -> None:
    callback = await _consent(await _start(client))
    fake_github.token_failure = failure  # type: ignore[assignment]
    fake_github.slow_seconds = 1.0
    response = await client.get(callback)
    assert response.status_code == 502
    assert "GitHub is not answering" in response.text
    assert _state(process_context, response, config.cookie_name).token is None


async def test_github_api_failing(
    client: httpx.AsyncClient, fake_github: FakeGitHub, alice: FakeGitHubUser
) -> None:
    callback = await _consent(await _start(client))
    fake_github.api_failure = 500
    response = await client.get(callback)
    assert response.status_code == 502


async def test_github_unreachable(
    make_config: Callable[..., Config], fake_github: FakeGitHub, alice: FakeGitHubUser
) -> None:
    github = fake_github.github_config()
    # Port 9 (discard) on loopback: nothing listens there.
    dead = github.model_copy(update={"token_url": "http://127.0.0.1:9/token"})
    config = make_config(dev_login=False, github=dead, group_mapping=GROUP_MAPPING)
    app = create_app(config)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await _login(client)
    assert response.status_code == 502
    assert "could not be reached" in response.text


async def test_bad_code(
    client: httpx.AsyncClient, fake_github: FakeGitHub, alice: FakeGitHubUser
) -> None:
    authorize_url = await _start(client)
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    response = await client.get(
        "/login", params={"code": "0123456789abcdef0123", "state": state}
    )
    assert response.status_code == 403
    assert "GitHub did not accept the login" in response.text


async def test_callback_without_code(
    client: httpx.AsyncClient, alice: FakeGitHubUser
) -> None:
    authorize_url = await _start(client)
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    response = await client.get("/login", params={"state": state})
    assert response.status_code == 403
    assert "no authorization code" in response.text


async def test_logout_revokes_session(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    response = await _login(client)
    token = Token.from_str(
        _state(process_context, response, config.cookie_name).token or ""
    )
    old_cookie = client.cookies[config.cookie_name]
    data = await token_service.validate(token)
    assert data is not None
    child = await token_service.get_notebook_token(data, ip_address="127.0.0.1")
    assert await token_service.validate(child) is not None

    response = await client.get("/logout", params={"rd": "/portal/"})
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}/portal/"
    removed = _set_cookie(response)
    assert removed["max-age"] == "0"
    assert removed["path"] == "/"
    assert await token_service.validate(token) is None
    assert await token_service.validate(child) is None

    # The old cookie, replayed, no longer works anywhere.
    client.cookies.set(config.cookie_name, old_cookie)
    assert (await client.get("/auth/api/v1/login")).status_code == 401


async def test_logout_without_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/logout")
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}/"


async def test_garbage_never_500(client: httpx.AsyncClient, config: Config) -> None:
    requests: list[tuple[str, dict[str, str]]] = [
        ("/login", {"code": "", "state": ""}),
        ("/login", {"code": "x" * 5000, "state": "y" * 5000}),
        ("/login", {"error": "", "state": ""}),
        ("/login", {"error": "access_denied"}),
        ("/login", {"rd": "%00"}),
        ("/logout", {"rd": "\x00"}),
        ("/auth/api/v1/login", {}),
    ]
    client.cookies.set(config.cookie_name, "\x7f" * 10)
    for path, params in requests:
        response = await client.get(path, params=params)
        assert response.status_code < 500, (path, params, response.status_code)
