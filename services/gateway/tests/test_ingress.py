"""The ingress auth subrequest: the contract's matrix of answers."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from asgi_lifespan import LifespanManager
from conftest import BASE_URL, MakeSession
from httpx import ASGITransport, AsyncClient, Response
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.main import create_app
from rsp_gateway.models.token import Token, TokenType, UserTokenRequest
from rsp_gateway.models.userinfo import UserInfo
from rsp_gateway.schema import TokenRecord
from rsp_gateway.services.token import TokenService
from test_token_cache import count_queries

AUTH = "/ingress/auth"
TAP = {"scope": "read:tap"}


def _bearer(token: Token | str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def _assert_401(response: Response, *, invalid: bool = True) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="localhost"')
    assert ('error="invalid_token"' in challenge) is invalid
    assert response.headers["X-Error-Status"] == "401"
    assert response.headers["X-Error-Body"]
    assert "X-Auth-Request-User" not in response.headers


async def test_bearer_token(client: AsyncClient, make_session: MakeSession) -> None:
    token = await make_session("alice", ["read:tap"], email="alice@example.org")
    response = await client.get(AUTH, params=TAP, headers=_bearer(token))
    assert response.status_code == 200
    assert response.headers["X-Auth-Request-User"] == "alice"
    assert response.headers["X-Auth-Request-Email"] == "alice@example.org"
    # The gateway token is not passed on; nothing else was sent.
    for name in (
        "Authorization",
        "Cookie",
        "X-Auth-Request-Token",
        "X-Auth-Request-Service",
    ):
        assert name not in response.headers


async def test_email_absent_when_unknown(
    client: AsyncClient, make_session: MakeSession
) -> None:
    token = await make_session("alice", ["read:tap"])
    response = await client.get(AUTH, params=TAP, headers=_bearer(token))
    assert response.status_code == 200
    assert "X-Auth-Request-Email" not in response.headers


async def test_email_a_header_cannot_carry_is_left_out(
    client: AsyncClient, make_session: MakeSession
) -> None:
    for email in ("josé@example.org", "a@b.org\r\nX-Evil: 1"):
        token = await make_session("alice", ["read:tap"], email=email)
        response = await client.get(AUTH, params=TAP, headers=_bearer(token))
        assert response.status_code == 200
        assert "X-Auth-Request-Email" not in response.headers
        assert "X-Evil" not in response.headers


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda t: _basic("anyone", t),
        lambda t: _basic(t, "x-oauth-basic"),
        lambda t: _basic("", t),
    ],
    ids=["password", "x-oauth-basic", "empty-user"],
)
async def test_basic_auth(
    client: AsyncClient,
    make_session: MakeSession,
    make_headers: Callable[[str], dict[str, str]],
) -> None:
    token = await make_session("alice", ["read:tap"])
    response = await client.get(
        AUTH, params={**TAP, "auth_type": "basic"}, headers=make_headers(str(token))
    )
    assert response.status_code == 200
    assert response.headers["X-Auth-Request-User"] == "alice"
    assert "Authorization" not in response.headers


async def test_cookie_is_used_and_stripped(
    client: AsyncClient,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
    config: Config,
) -> None:
    token = await make_session("alice", ["read:tap"])
    cookie = make_session_cookie(token)
    response = await client.get(
        AUTH,
        params=TAP,
        headers={"Cookie": f"theme=dark; {config.cookie_name}={cookie}; lang=en"},
    )
    assert response.status_code == 200
    assert response.headers["X-Auth-Request-User"] == "alice"
    assert response.headers["Cookie"] == "theme=dark; lang=en"

    only_session = await client.get(
        AUTH, params=TAP, headers={"Cookie": f"{config.cookie_name}={cookie}"}
    )
    assert only_session.status_code == 200
    assert "Cookie" not in only_session.headers


async def test_foreign_authorization_passes_with_cookie(
    client: AsyncClient,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
    config: Config,
) -> None:
    token = await make_session("alice", ["read:tap"])
    webdav = _basic("alice", "not-a-gateway-token")
    response = await client.get(
        AUTH,
        params=TAP,
        headers={
            **webdav,
            "Cookie": f"{config.cookie_name}={make_session_cookie(token)}",
        },
    )
    assert response.status_code == 200
    assert response.headers["Authorization"] == webdav["Authorization"]
    assert "Cookie" not in response.headers


async def test_missing_credentials(client: AsyncClient) -> None:
    response = await client.get(AUTH, params=TAP)
    _assert_401(response, invalid=False)
    basic = await client.get(AUTH, params={**TAP, "auth_type": "basic"})
    assert basic.status_code == 401
    assert basic.headers["WWW-Authenticate"] == 'Basic realm="localhost"'
    # A forged cookie is no credential either.
    forged = await client.get(AUTH, params=TAP, headers={"Cookie": "rsp_session=abc"})
    _assert_401(forged, invalid=False)


async def test_malformed_tokens(client: AsyncClient, make_session: MakeSession) -> None:
    token = str(await make_session("alice", ["read:tap"]))
    bad_values = [
        token[:-1],
        token + "x",
        token[:10],
        "gt-",
        "gt-" + "a" * 22,
        token.replace(".", "-"),
        token.replace("gt-", "gt-\x00"),
    ]
    for value in bad_values:
        response = await client.get(AUTH, params=TAP, headers=_bearer(value))
        _assert_401(response)
        response = await client.get(AUTH, params=TAP, headers=_basic("u", value))
        _assert_401(response)
    for header in ("Bearer", "Bearer not-a-token", "Basic %%%", "Negotiate abc", "x"):
        response = await client.get(AUTH, params=TAP, headers={"Authorization": header})
        _assert_401(response, invalid=False)


async def test_unknown_and_wrong_secret(
    client: AsyncClient, make_session: MakeSession
) -> None:
    token = await make_session("alice", ["read:tap"])
    _assert_401(await client.get(AUTH, params=TAP, headers=_bearer(Token.generate())))
    wrong = Token(token.key, Token.generate().secret)
    _assert_401(await client.get(AUTH, params=TAP, headers=_bearer(wrong)))


async def test_expired_revoked_and_children(
    client: AsyncClient,
    make_session: MakeSession,
    token_service: TokenService,
    process_context: ProcessContext,
) -> None:
    token = await make_session("alice", ["read:tap", "user:token"])
    data = await token_service.validate(token)
    assert data is not None
    delegated = await client.get(
        AUTH,
        params={**TAP, "delegate_to": "tap", "delegate_scope": "read:tap"},
        headers=_bearer(token),
    )
    child = delegated.headers["X-Auth-Request-Token"]
    assert (
        await client.get(AUTH, params=TAP, headers=_bearer(child))
    ).status_code == 200

    await token_service.revoke_session(data, ip_address=None)
    for value in (str(token), child):
        _assert_401(await client.get(AUTH, params=TAP, headers=_bearer(value)))

    other = await make_session("bob", ["read:tap", "user:token"])
    other_data = await token_service.validate(other)
    assert other_data is not None
    user = await token_service.create_user_token(
        other_data,
        "bob",
        UserTokenRequest(token_name="t", expires=datetime.now(UTC) + timedelta(days=1)),
        ip_address=None,
    )
    async with process_context.sessions.begin() as session:
        record = await session.get(TokenRecord, user.key)
        assert record is not None
        record.expires = datetime.now(UTC) - timedelta(seconds=1)
    await process_context.token_cache.invalidate([user.key])
    _assert_401(await client.get(AUTH, headers=_bearer(user)))


async def test_scopes_all_and_any(
    client: AsyncClient, make_session: MakeSession
) -> None:
    token = await make_session("alice", ["read:tap", "exec:portal"])
    headers = _bearer(token)

    async def status(params: list[tuple[str, str]]) -> int:
        return (
            await client.get(AUTH, params=tuple(params), headers=headers)
        ).status_code

    assert await status([("scope", "read:tap"), ("scope", "exec:portal")]) == 200
    assert await status([]) == 200
    assert await status([("scope", "read:tap"), ("scope", "read:image")]) == 403
    assert (
        await status(
            [("scope", "read:tap"), ("scope", "read:image"), ("satisfy", "any")]
        )
        == 200
    )
    assert (
        await status(
            [("scope", "exec:notebook"), ("scope", "read:image"), ("satisfy", "any")]
        )
        == 403
    )
    response = await client.get(AUTH, params={"scope": "read:image"}, headers=headers)
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="read:image"' in challenge
    assert response.headers["X-Error-Status"] == "403"
    assert "read:image" in response.headers["X-Error-Body"]


async def test_delegation(
    client: AsyncClient,
    make_session: MakeSession,
    token_service: TokenService,
    process_context: ProcessContext,
) -> None:
    token = await make_session("alice", ["read:tap", "exec:notebook"], email="a@b.org")
    params = [
        ("scope", "read:tap"),
        ("delegate_to", "tap"),
        ("delegate_scope", "read:tap"),
        ("delegate_scope", "read:image"),
        ("use_authorization", "true"),
    ]
    response = await client.get(AUTH, params=tuple(params), headers=_bearer(token))
    assert response.status_code == 200
    assert response.headers["X-Auth-Request-Service"] == "tap"
    delegated = Token.from_str(response.headers["X-Auth-Request-Token"])
    assert response.headers["Authorization"] == f"Bearer {delegated}"
    data = await token_service.validate(delegated)
    assert data is not None
    assert data.token_type is TokenType.internal
    assert data.service == "tap"
    assert data.scopes == {"read:tap"}  # asked scopes held by the parent only
    assert data.parent == token.key
    assert data.email == "a@b.org"

    with count_queries(process_context) as statements:
        again = await client.get(AUTH, params=tuple(params), headers=_bearer(token))
    assert again.headers["X-Auth-Request-Token"] == str(delegated)
    assert statements == []

    # Without use_authorization the service gets the token in its own header.
    plain = await client.get(
        AUTH,
        params=[p for p in params if p[0] != "use_authorization"],
        headers=_bearer(token),
    )
    assert plain.headers["X-Auth-Request-Token"] == str(delegated)
    assert "Authorization" not in plain.headers


async def test_notebook_and_minimum_lifetime(
    client: AsyncClient,
    make_session: MakeSession,
    token_service: TokenService,
) -> None:
    token = await make_session("alice", ["exec:notebook", "read:tap", "user:token"])
    params = {"scope": "exec:notebook", "notebook": "true"}
    response = await client.get(AUTH, params=params, headers=_bearer(token))
    assert response.status_code == 200
    notebook = Token.from_str(response.headers["X-Auth-Request-Token"])
    data = await token_service.validate(notebook)
    assert data is not None
    assert data.token_type is TokenType.notebook
    assert data.scopes == {"exec:notebook", "read:tap", "user:token"}
    assert "X-Auth-Request-Service" not in response.headers
    again = await client.get(
        AUTH, params={**params, "minimum_lifetime": "3600"}, headers=_bearer(token)
    )
    assert again.headers["X-Auth-Request-Token"] == str(notebook)

    # A parent with too little life left: log in again.
    parent = await token_service.validate(token)
    assert parent is not None
    short = await token_service.create_user_token(
        parent,
        "alice",
        UserTokenRequest(
            token_name="short",
            scopes=["exec:notebook"],
            expires=datetime.now(UTC) + timedelta(minutes=10),
        ),
        ip_address=None,
    )
    too_long = {**params, "minimum_lifetime": "1200"}
    response = await client.get(AUTH, params=too_long, headers=_bearer(short))
    _assert_401(response)
    assert "log in again" in response.headers["X-Error-Body"]
    plain = {"scope": "exec:notebook", "minimum_lifetime": "1200"}
    _assert_401(await client.get(AUTH, params=plain, headers=_bearer(short)))
    plain["minimum_lifetime"] = "300"
    assert (
        await client.get(AUTH, params=plain, headers=_bearer(short))
    ).status_code == 200


async def test_client_sent_identity_headers_are_never_echoed(
    client: AsyncClient, make_session: MakeSession
) -> None:
    token = await make_session("alice", ["read:tap"])
    forged = {
        "X-Auth-Request-User": "root",
        "X-Auth-Request-Email": "root@example.org",
        "X-Auth-Request-Token": "gt-forged",
        "X-Auth-Request-Service": "evil",
    }
    response = await client.get(AUTH, params=TAP, headers={**forged, **_bearer(token)})
    assert response.headers["X-Auth-Request-User"] == "alice"
    for name in (
        "X-Auth-Request-Email",
        "X-Auth-Request-Token",
        "X-Auth-Request-Service",
    ):
        assert name not in response.headers
    anonymous = await client.get("/ingress/anonymous", headers=forged)
    assert anonymous.status_code == 200
    assert not any(h.lower().startswith("x-auth-request") for h in anonymous.headers)


async def test_cors_preflight(client: AsyncClient) -> None:
    preflight = {
        "X-Original-Method": "OPTIONS",
        "Origin": BASE_URL,
        "Access-Control-Request-Method": "POST",
        "Cookie": "theme=dark",
    }
    response = await client.get(AUTH, params=TAP, headers=preflight)
    assert response.status_code == 200
    assert "X-Auth-Request-User" not in response.headers
    assert response.headers["Cookie"] == "theme=dark"
    foreign = await client.get(
        AUTH, params=TAP, headers={**preflight, "Origin": "https://evil.example"}
    )
    assert foreign.status_code == 401
    # WebDAV OPTIONS is authenticated like anything else.
    webdav = await client.get(
        AUTH, params=TAP, headers={"X-Original-Method": "OPTIONS"}
    )
    assert webdav.status_code == 401


async def test_anonymous_strips_gateway_credentials(
    client: AsyncClient, make_session: MakeSession, config: Config
) -> None:
    token = await make_session("alice")
    cookies = f"a=1; {config.cookie_name}=secret; b=2"
    response = await client.get(
        "/ingress/anonymous", headers={**_bearer(token), "Cookie": cookies}
    )
    assert response.status_code == 200
    assert "Authorization" not in response.headers
    assert response.headers["Cookie"] == "a=1; b=2"
    foreign = await client.get("/ingress/anonymous", headers=_basic("u", "p"))
    assert foreign.headers["Authorization"] == _basic("u", "p")["Authorization"]
    mangled = await client.get("/ingress/anonymous", headers=_bearer(str(token)[:-2]))
    assert "Authorization" not in mangled.headers
    assert "Cookie" not in mangled.headers


@pytest.mark.parametrize(
    "params",
    [
        {"scope": "read:everything"},
        {"scope": "read:tap", "satisfy": "some"},
        {"minimum_lifetime": "0"},
        {"minimum_lifetime": "-5"},
        {"minimum_lifetime": "soon"},
        {"minimum_lifetime": "99999999999999"},
        {"auth_type": "digest"},
        {"notebook": "maybe"},
        {"notebook": "true", "delegate_to": "tap"},
        {"delegate_scope": "read:tap"},
        {"delegate_to": "tap", "delegate_scope": "nope"},
        {"delegate_to": "Bad Name"},
        {"use_authorization": "true"},
    ],
)
async def test_bad_parameters_are_clear_errors(
    client: AsyncClient, make_session: MakeSession, params: dict[str, str]
) -> None:
    token = await make_session("alice", ["read:tap"])
    response = await client.get(AUTH, params=params, headers=_bearer(token))
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"]


async def test_minimum_lifetime_longer_than_children_live(
    client: AsyncClient, make_session: MakeSession
) -> None:
    token = await make_session("alice", ["exec:notebook"])
    response = await client.get(
        AUTH,
        params={"notebook": "true", "minimum_lifetime": str(365 * 86400)},
        headers=_bearer(token),
    )
    assert response.status_code == 422
    assert response.headers["X-Error-Status"] == "422"


async def test_bootstrap_token_cannot_be_delegated(
    make_config: Callable[..., Config],
) -> None:
    bootstrap = Token.generate()
    app = create_app(make_config(bootstrap_token=SecretStr(str(bootstrap))))
    async with LifespanManager(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url=BASE_URL) as client:
            ok = await client.get(
                AUTH, params={"scope": "admin:token"}, headers=_bearer(bootstrap)
            )
            assert ok.status_code == 200
            assert ok.headers["X-Auth-Request-User"] == "bootstrap"
            delegated = await client.get(
                AUTH, params={"notebook": "true"}, headers=_bearer(bootstrap)
            )
            assert delegated.status_code == 403


async def test_redis_down_is_no_500(make_config: Callable[..., Config]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = make_config(redis_url=SecretStr(f"redis://127.0.0.1:{port}/0"))
    app = create_app(config)
    async with LifespanManager(app):
        process: ProcessContext = app.state.process_context
        assert process.token_cache.channel is not None
        assert not process.token_cache.channel.healthy
        service = Factory(process).create_token_service()
        token = await service.create_session_token(
            UserInfo(username="alice"), ["read:tap"], ip_address=None
        )
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url=BASE_URL) as client:
            for _ in range(3):
                response = await client.get(
                    AUTH,
                    params={**TAP, "delegate_to": "tap", "delegate_scope": "read:tap"},
                    headers=_bearer(token),
                )
                assert response.status_code == 200
            assert (await client.get(AUTH, params=TAP)).status_code == 401


def test_ingress_is_not_in_the_api_documents(config: Config) -> None:
    paths = create_app(config).openapi()["paths"]
    assert not any(p.startswith("/ingress") for p in paths)
