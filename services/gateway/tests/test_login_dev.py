"""The development identity provider: form, validation, same session path."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from rsp_gateway.config import Config
from rsp_gateway.factory import ProcessContext
from rsp_gateway.main import create_app
from rsp_gateway.models.session import SessionState
from rsp_gateway.models.token import Token
from rsp_gateway.services.dev_login import dev_id
from rsp_gateway.services.token import TokenService
from support.fake_github import FakeGitHub

BASE_URL = "http://localhost:8000"
GROUP_MAPPING = {
    "exec:notebook": ["g-users"],
    "user:token": ["g-users"],
    "admin:token": ["g-admins"],
}


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config(dev_login=True, group_mapping=GROUP_MAPPING)


def _cookie_state(
    client: httpx.AsyncClient, config: Config, context: ProcessContext
) -> SessionState:
    return context.cookie_codec.decode(client.cookies.get(config.cookie_name))


async def _form(client: httpx.AsyncClient, rd: str = "/nb/") -> str:
    """Open the login form; return its hidden state."""
    response = await client.get("/login", params={"rd": rd})
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    match = re.search(r'name="state" value="([^"]+)"', response.text)
    assert match
    return match.group(1)


async def test_form_is_shown(
    client: httpx.AsyncClient, config: Config, process_context: ProcessContext
) -> None:
    response = await client.get("/login", params={"rd": "/nb/"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    for field in ("username", "name", "email", "groups"):
        assert f'name="{field}"' in response.text
    assert '<form class="stacked" method="post" action="/login"' in response.text
    state = _cookie_state(client, config, process_context)
    assert state.login_state
    assert f'name="state" value="{state.login_state}"' in response.text
    assert state.return_url == f"{BASE_URL}/nb/"


async def test_login(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    state = await _form(client, "/auth/tokens")
    response = await client.post(
        "/login",
        data={
            "state": state,
            "username": "alice",
            "name": "Alice Example",
            "email": "alice@example.org",
            "groups": "g-users, g-admins, g-other",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE_URL}/auth/tokens"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie

    session = _cookie_state(client, config, process_context)
    assert session.token
    assert session.csrf
    assert session.login_state is None
    data = await token_service.validate(Token.from_str(session.token))
    assert data is not None
    assert data.token_type == "session"
    assert data.username == "alice"
    assert data.name == "Alice Example"
    assert data.email == "alice@example.org"
    assert data.uid == dev_id("user", "alice")
    assert data.gid == data.uid
    assert [(g.name, g.id) for g in data.groups] == [
        ("g-admins", dev_id("group", "g-admins")),
        ("g-other", dev_id("group", "g-other")),
        ("g-users", dev_id("group", "g-users")),
    ]
    assert data.scopes == {"admin:token", "exec:notebook", "user:token"}

    info = await client.get("/auth/api/v1/login")
    assert info.status_code == 200
    assert info.json()["username"] == "alice"
    assert info.json()["csrf"] == session.csrf


async def test_same_user_same_ids(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    uids = []
    for _ in range(2):
        client.cookies.clear()
        state = await _form(client)
        response = await client.post(
            "/login", data={"state": state, "username": "bob", "groups": "g-users"}
        )
        assert response.status_code == 303
        token = _cookie_state(client, config, process_context).token
        assert token
        data = await token_service.validate(Token.from_str(token))
        assert data is not None
        uids.append(data.uid)
    assert uids[0] == uids[1] == dev_id("user", "bob")


async def test_invalid_fields_are_shown(
    client: httpx.AsyncClient, config: Config, process_context: ProcessContext
) -> None:
    state = await _form(client)
    cookie = client.cookies[config.cookie_name]
    response = await client.post(
        "/login",
        data={
            "state": state,
            "username": "<script>Alice</script>",
            "name": "Alice",
            "email": "not-an-address",
            "groups": "g-users, bad group",
        },
    )
    assert response.status_code == 422
    text = response.text
    assert "Please correct the fields marked below." in text
    assert 'id="username-error"' in text
    assert 'id="email-error"' in text
    assert 'id="groups-error"' in text
    assert 'id="name-error"' not in text
    assert text.count('aria-invalid="true"') == 3
    # What was typed comes back, escaped.
    assert "<script>Alice" not in text
    assert "&lt;script&gt;Alice&lt;/script&gt;" in text
    assert 'value="Alice"' in text
    # Nothing was consumed: the same state works once the form is fixed.
    assert "set-cookie" not in response.headers
    assert client.cookies[config.cookie_name] == cookie
    assert f'name="state" value="{state}"' in text
    response = await client.post(
        "/login",
        data={"state": state, "username": "alice", "groups": "g-users"},
    )
    assert response.status_code == 303


async def test_missing_fields(client: httpx.AsyncClient) -> None:
    state = await _form(client)
    response = await client.post("/login", data={"state": state})
    assert response.status_code == 422
    assert "Enter a user name." in response.text


async def test_wrong_state(
    client: httpx.AsyncClient, config: Config, process_context: ProcessContext
) -> None:
    state = await _form(client)
    response = await client.post(
        "/login", data={"state": "forged", "username": "alice", "groups": "g-users"}
    )
    assert response.status_code == 403
    assert "does not belong to the login started in this browser" in response.text
    assert _cookie_state(client, config, process_context) == SessionState()
    # The state was consumed by the failed attempt.
    response = await client.post(
        "/login", data={"state": state, "username": "alice", "groups": "g-users"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("data", [{}, {"state": ""}])
async def test_no_state(client: httpx.AsyncClient, data: dict[str, str]) -> None:
    await _form(client)
    response = await client.post("/login", data={**data, "username": "alice"})
    assert response.status_code == 403


async def test_cross_site_post_without_cookie(client: httpx.AsyncClient) -> None:
    state = await _form(client)
    client.cookies.clear()
    response = await client.post(
        "/login", data={"state": state, "username": "mallory", "groups": "g-admins"}
    )
    assert response.status_code == 403
    assert "No login is in progress" in response.text
    assert (
        "set-cookie" not in response.headers
        or "gAAAA" not in response.headers["set-cookie"]
    )


async def test_stale_state(
    client: httpx.AsyncClient, config: Config, process_context: ProcessContext
) -> None:
    state = await _form(client)
    cookie_state = _cookie_state(client, config, process_context)
    assert cookie_state.login_started
    old = cookie_state.model_copy(
        update={"login_started": cookie_state.login_started - timedelta(minutes=11)}
    )
    client.cookies.set(config.cookie_name, process_context.cookie_codec.encode(old))
    response = await client.post(
        "/login", data={"state": state, "username": "alice", "groups": "g-users"}
    )
    assert response.status_code == 403
    assert "took too long" in response.text


async def test_replayed_post(client: httpx.AsyncClient) -> None:
    state = await _form(client)
    data = {"state": state, "username": "alice", "groups": "g-users"}
    assert (await client.post("/login", data=data)).status_code == 303
    response = await client.post("/login", data=data)
    assert response.status_code == 403


async def test_no_scopes(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
) -> None:
    state = await _form(client)
    response = await client.post(
        "/login", data={"state": state, "username": "zed", "groups": "g-guests"}
    )
    assert response.status_code == 403
    assert "<code>g-guests</code>" in response.text
    assert "Ask the platform's administrators which groups grant access." in (
        response.text
    )
    assert _cookie_state(client, config, process_context).token is None
    assert (await client.get("/auth/api/v1/login")).status_code == 401


async def test_logged_in_skips_form(client: httpx.AsyncClient) -> None:
    state = await _form(client)
    await client.post(
        "/login", data={"state": state, "username": "alice", "groups": "g-users"}
    )
    response = await client.get("/login", params={"rd": "/portal/"})
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}/portal/"


async def test_refused_return_url(client: httpx.AsyncClient) -> None:
    response = await client.get("/login", params={"rd": "https://evil.example.com/"})
    assert response.status_code == 400
    assert 'name="state"' not in response.text


async def test_logout(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    state = await _form(client)
    await client.post(
        "/login", data={"state": state, "username": "alice", "groups": "g-users"}
    )
    token = _cookie_state(client, config, process_context).token
    assert token
    response = await client.get("/logout")
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}/"
    assert await token_service.validate(Token.from_str(token)) is None
    assert config.cookie_name not in client.cookies


@pytest.fixture
def github_only_config(
    make_config: Callable[..., Config], fake_github: FakeGitHub
) -> Config:
    return make_config(
        dev_login=False,
        github=fake_github.github_config(),
        group_mapping=GROUP_MAPPING,
    )


async def test_disabled_when_dev_login_false(
    make_config: Callable[..., Config],
    fake_github: FakeGitHub,
    github_only_config: Config,
) -> None:
    app = create_app(github_only_config)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await client.get("/login")
            assert response.status_code == 302
            assert response.headers["location"].startswith(fake_github.base_url)
            state = app.state.process_context.cookie_codec.decode(
                client.cookies[github_only_config.cookie_name]
            ).login_state
            response = await client.post(
                "/login",
                data={"state": state, "username": "alice", "groups": "g-users"},
            )
            assert response.status_code == 404
            assert "not enabled" in response.text
            assert "set-cookie" not in response.headers
            assert (await client.get("/auth/api/v1/login")).status_code == 401


def test_refused_outside_local(make_config: Callable[..., Config]) -> None:
    with pytest.raises(ValueError, match="dev_login is allowed only"):
        make_config(environment="idfprod", dev_login=True)
