"""The auth check for Envoy's HTTP ext_authz: the route's parameters in the path."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import quote

import pytest
from conftest import BASE_URL, MakeSession
from httpx import AsyncClient, Response
from rsp_gateway.config import Config
from rsp_gateway.handlers.ingress_ext_authz import IDENTITY_HEADERS
from rsp_gateway.models.token import Token
from rsp_operator.config import IngressFlavour, OperatorSettings
from rsp_operator.ingress.model import parse_platform_ingress
from rsp_operator.ingress.render import desired_objects
from rsp_platform.routes import AUTH_RESPONSE_HEADERS

TAP_CHECK = "/ingress/ext-authz/auth/scope=read:tap&satisfy=all&auth_type=bearer"
HUB_CHECK = (
    "/ingress/ext-authz/auth/scope=exec:notebook&satisfy=all&notebook=true"
    "&auth_type=bearer&login_redirect=true"
)
ANONYMOUS_CHECK = "/ingress/ext-authz/anonymous"


def _bearer(token: Token | str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _removed(response: Response) -> set[str]:
    value = response.headers.get("X-Envoy-Auth-Headers-To-Remove", "")
    return {h.strip() for h in value.split(",") if h.strip()}


def _upstream(client_headers: dict[str, str], response: Response) -> dict[str, str]:
    """What the service gets, as Envoy builds it (headersToBackend, removals)."""
    headers = {k.lower(): v for k, v in client_headers.items()}
    for name in _removed(response):
        headers.pop(name.lower(), None)
    for name in AUTH_RESPONSE_HEADERS:
        if name in response.headers:
            headers[name.lower()] = response.headers[name]
    return headers


def test_identity_headers_are_the_route_tables() -> None:
    assert IDENTITY_HEADERS == AUTH_RESPONSE_HEADERS


async def test_original_method_and_path_are_checked(
    client: AsyncClient, make_session: MakeSession
) -> None:
    token = await make_session("alice", ["read:tap"])
    for method in ("GET", "POST", "PUT", "DELETE", "HEAD"):
        response = await client.request(
            method,
            f"{TAP_CHECK}/api/tap/sync?LANG=ADQL&QUERY=SELECT%201",
            headers={**_bearer(token), "Content-Length": "0"},
        )
        assert response.status_code == 200, (method, response.text)
        assert response.headers["X-Auth-Request-User"] == "alice"


async def test_forged_identity_never_reaches_the_service(
    client: AsyncClient, make_session: MakeSession
) -> None:
    token = await make_session("alice", ["read:tap"])
    sent = {
        **_bearer(token),
        "X-Auth-Request-User": "admin",
        "X-Auth-Request-Email": "admin@example.org",
        "X-Auth-Request-Token": "gt-forged",
        "X-Auth-Request-Service": "tap",
    }
    response = await client.get(f"{TAP_CHECK}/api/tap/sync", headers=sent)
    assert response.status_code == 200
    upstream = _upstream(sent, response)
    assert upstream["x-auth-request-user"] == "alice"
    # alice has no email; the forged one and the gateway token are dropped.
    for name in (
        "x-auth-request-email",
        "x-auth-request-token",
        "x-auth-request-service",
        "authorization",
        "cookie",
    ):
        assert name not in upstream, name


async def test_delegation_with_the_operators_policy(
    client: AsyncClient,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
    config: Config,
) -> None:
    """The path the operator writes for the TAP route is one the gateway reads."""
    resource = parse_platform_ingress(
        {
            "metadata": {"name": "tap", "namespace": "tap", "uid": "u"},
            "spec": {
                "path": "/api/tap",
                "backend": {"service": "tap", "port": 8080},
                "scopes": ["read:tap"],
                "delegateTo": "tap",
                "delegateScopes": ["read:tap"],
                "authType": "basic",
            },
        }
    )
    settings = OperatorSettings(ingress_flavour=IngressFlavour.GATEWAY_API)
    policy = desired_objects(resource, settings)[1]
    path = policy["spec"]["extAuth"]["http"]["path"]
    token = await make_session("alice", ["read:tap"], email="a@b.org")
    cookie = make_session_cookie(token)
    sent = {"Cookie": f"theme=dark; {config.cookie_name}={cookie}"}
    response = await client.get(f"{path}/api/tap/async", headers=sent)
    assert response.status_code == 200, response.text
    upstream = _upstream(sent, response)
    assert upstream["x-auth-request-user"] == "alice"
    assert upstream["x-auth-request-email"] == "a@b.org"
    assert upstream["x-auth-request-service"] == "tap"
    assert upstream["x-auth-request-token"].startswith("gt-")
    assert upstream["x-auth-request-token"] != str(token)
    assert upstream["cookie"] == "theme=dark"
    assert "authorization" not in upstream

    # Basic challenge, as the route asks, when no credential comes.
    denied = await client.post(f"{path}/api/tap/async")
    assert denied.status_code == 401
    assert denied.headers["WWW-Authenticate"].startswith("Basic ")


async def test_browser_route_redirects_to_login(
    client: AsyncClient, make_session: MakeSession
) -> None:
    original = "/nb/hub/spawn/alice?next=%2Fnb%2Fuser%2Falice%2Flab"
    response = await client.get(f"{HUB_CHECK}{original}")
    assert response.status_code == 302
    rd = quote(f"{BASE_URL}{original}", safe="")
    assert response.headers["Location"] == f"{BASE_URL}/login?rd={rd}"
    assert response.headers["Cache-Control"] == "no-store"
    login = await client.get(response.headers["Location"])
    assert login.status_code == 200

    # Logged in but without the scope: 403, no redirect loop.
    token = await make_session("bob", ["read:tap"])
    forbidden = await client.get(f"{HUB_CHECK}{original}", headers=_bearer(token))
    assert forbidden.status_code == 403
    assert "insufficient_scope" in forbidden.headers["WWW-Authenticate"]

    # An API route answers 401 with a challenge instead.
    api = await client.get(f"{TAP_CHECK}/api/tap/sync")
    assert api.status_code == 401
    assert api.headers["WWW-Authenticate"].startswith("Bearer ")


async def test_cors_preflight_is_the_original_options(client: AsyncClient) -> None:
    headers = {"Origin": BASE_URL, "Access-Control-Request-Method": "POST"}
    response = await client.options(f"{TAP_CHECK}/api/tap/sync", headers=headers)
    assert response.status_code == 200
    assert "X-Auth-Request-User" not in response.headers
    assert "X-Auth-Request-User" in _removed(response)
    foreign = await client.options(
        f"{TAP_CHECK}/api/tap/sync",
        headers={**headers, "Origin": "https://evil.example"},
    )
    assert foreign.status_code == 401


async def test_anonymous_strips_gateway_credentials(
    client: AsyncClient, make_session: MakeSession, config: Config
) -> None:
    token = await make_session("alice", ["read:tap"])
    sent = {
        **_bearer(token),
        "Cookie": f"a=1; {config.cookie_name}=secret",
        "X-Auth-Request-User": "admin",
    }
    response = await client.post(
        f"{ANONYMOUS_CHECK}/api/tap/availability", headers=sent
    )
    assert response.status_code == 200
    upstream = _upstream(sent, response)
    assert upstream == {"cookie": "a=1"}

    basic = base64.b64encode(b"u:p").decode()
    foreign = {"Authorization": f"Basic {basic}"}
    response = await client.get(f"{ANONYMOUS_CHECK}/", headers=foreign)
    assert _upstream(foreign, response) == {"authorization": f"Basic {basic}"}


@pytest.mark.parametrize(
    "segment",
    [
        "scope=read:everything",
        "scope=read:tap&satisfy=some",
        "scope=read:tap&login_redirect=maybe",
        "notebook=true&delegate_to=tap",
    ],
)
async def test_bad_route_parameters_are_clear_errors(
    client: AsyncClient, make_session: MakeSession, segment: str
) -> None:
    token = await make_session("alice", ["read:tap"])
    response = await client.get(
        f"/ingress/ext-authz/auth/{segment}/api/tap", headers=_bearer(token)
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"]
