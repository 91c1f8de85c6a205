"""The GitHub login when something goes wrong: state, consent, GitHub failures.

None of these may log the user in, and none may answer 500.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from rsp_gateway.config import Config
from rsp_gateway.factory import ProcessContext
from rsp_gateway.main import create_app
from rsp_gateway.models.session import SessionState
from rsp_gateway.services.token import TokenService
from support.fake_github import FakeGitHub, FakeGitHubUser
from support.login_flow import (
    BASE_URL,
    GROUP_MAPPING,
    add_alice,
    cookie_state,
    github_consent,
    github_login,
    github_login_config,
    start_login,
)


@pytest.fixture
def config(make_config: Callable[..., Config], fake_github: FakeGitHub) -> Config:
    return github_login_config(make_config, fake_github)


@pytest.fixture
def alice(fake_github: FakeGitHub) -> FakeGitHubUser:
    return add_alice(fake_github)


async def test_bad_state(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
) -> None:
    callback = await github_consent(await start_login(client))
    query = parse_qs(urlsplit(callback).query)
    response = await client.get(
        "/login", params={"code": query["code"][0], "state": "forged-state"}
    )
    assert response.status_code == 403
    assert "does not belong to the login started in this browser" in response.text
    assert cookie_state(process_context, response, config.cookie_name) == SessionState()
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
    callback = await github_consent(await start_login(client))
    first = await client.get(callback)
    assert first.status_code == 302
    token = cookie_state(process_context, first, config.cookie_name).token
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
        or not cookie_state(process_context, replay, config.cookie_name).token
    )


async def test_stale_state(
    client: httpx.AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    process_context: ProcessContext,
) -> None:
    authorize_url = await start_login(client)
    cookie = client.cookies[config.cookie_name]
    state = process_context.cookie_codec.decode(cookie)
    assert state.login_started is not None
    old = state.model_copy(
        update={"login_started": state.login_started - timedelta(minutes=11)}
    )
    client.cookies.set(config.cookie_name, process_context.cookie_codec.encode(old))
    response = await client.get(await github_consent(authorize_url))
    assert response.status_code == 403
    assert "took too long" in response.text
    assert cookie_state(process_context, response, config.cookie_name).token is None


async def test_missing_cookie_at_callback(
    client: httpx.AsyncClient, alice: FakeGitHubUser
) -> None:
    callback = await github_consent(await start_login(client))
    client.cookies.clear()
    response = await client.get(callback)
    assert response.status_code == 403
    assert "No login is in progress" in response.text


async def test_forged_cookie_at_callback(
    client: httpx.AsyncClient, config: Config, alice: FakeGitHubUser
) -> None:
    callback = await github_consent(await start_login(client))
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
    callback = await github_consent(await start_login(client))
    assert "error=access_denied" in callback
    response = await client.get(callback)
    assert response.status_code == 403
    assert "You did not allow this platform" in response.text
    assert cookie_state(process_context, response, config.cookie_name).token is None
    assert fake_github.token_requests == []


async def test_github_error_codes_not_echoed(
    client: httpx.AsyncClient, alice: FakeGitHubUser
) -> None:
    authorize_url = await start_login(client)
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
    callback = await github_consent(await start_login(client))
    fake_github.token_failure = failure  # type: ignore[assignment]
    fake_github.slow_seconds = 1.0
    response = await client.get(callback)
    assert response.status_code == 502
    assert "GitHub is not answering" in response.text
    assert cookie_state(process_context, response, config.cookie_name).token is None


async def test_github_api_failing(
    client: httpx.AsyncClient, fake_github: FakeGitHub, alice: FakeGitHubUser
) -> None:
    callback = await github_consent(await start_login(client))
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
            response = await github_login(client)
    assert response.status_code == 502
    assert "could not be reached" in response.text


async def test_bad_code(
    client: httpx.AsyncClient, fake_github: FakeGitHub, alice: FakeGitHubUser
) -> None:
    authorize_url = await start_login(client)
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    response = await client.get(
        "/login", params={"code": "0123456789abcdef0123", "state": state}
    )
    assert response.status_code == 403
    assert "GitHub did not accept the login" in response.text


async def test_callback_without_code(
    client: httpx.AsyncClient, alice: FakeGitHubUser
) -> None:
    authorize_url = await start_login(client)
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    response = await client.get("/login", params={"state": state})
    assert response.status_code == 403
    assert "no authorization code" in response.text


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
