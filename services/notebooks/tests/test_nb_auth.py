"""The gateway authenticator: identity from a validated token, never a header."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
from rsp_notebooks.auth import GatewayAuthenticator
from rsp_notebooks.gateway import (
    GatewayClient,
    GatewayUnavailableError,
    InvalidTokenError,
)
from tornado import web

GATEWAY = "http://gateway.test"
TOKEN = "gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"
OTHER = "gt-CCCCCCCCCCCCCCCCCCCCCC.DDDDDDDDDDDDDDDDDDDDDD"
EXPIRES = datetime.now(UTC) + timedelta(days=5)


class FakeGateway:
    """The gateway's user-info and token-info for known tokens."""

    def __init__(self, router: respx.Router) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.calls = 0
        router.get(f"{GATEWAY}/auth/api/v1/user-info").mock(side_effect=self._user)
        router.get(f"{GATEWAY}/auth/api/v1/token-info").mock(side_effect=self._token)

    def add(
        self,
        token: str,
        username: str,
        scopes: list[str],
        token_type: str = "notebook",
        expires: datetime = EXPIRES,
    ) -> None:
        self.tokens[token] = {
            "username": username,
            "scopes": scopes,
            "token_type": token_type,
            "expires": expires,
        }

    def _known(self, request: httpx.Request) -> dict[str, Any] | None:
        self.calls += 1
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.tokens.get(token)

    def _user(self, request: httpx.Request) -> httpx.Response:
        known = self._known(request)
        if known is None:
            return httpx.Response(401, json={"detail": []})
        return httpx.Response(
            200,
            json={
                "username": known["username"],
                "name": "Alice Example",
                "uid": 40001,
                "gid": 40001,
                "groups": [{"name": "g_users", "id": 50001}],
            },
        )

    def _token(self, request: httpx.Request) -> httpx.Response:
        known = self._known(request)
        if known is None:
            return httpx.Response(401, json={"detail": []})
        return httpx.Response(
            200,
            json={
                "token": "AAAAAAAAAAAAAAAAAAAAAA",
                "username": known["username"],
                "token_type": known["token_type"],
                "scopes": known["scopes"],
                "created": 1,
                "expires": int(known["expires"].timestamp()),
            },
        )


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with respx.mock(assert_all_called=False) as router:
        yield FakeGateway(router)


@pytest.fixture
def authenticator(gateway: FakeGateway) -> GatewayAuthenticator:
    auth = GatewayAuthenticator(gateway_url=GATEWAY)
    auth.gateway = GatewayClient(GATEWAY, cache_seconds=30)
    return auth


def request(headers: dict[str, str]) -> Any:
    """A stand-in for the tornado handler: only its request headers are read."""
    return SimpleNamespace(request=SimpleNamespace(headers=headers))


def user(name: str) -> Any:
    return SimpleNamespace(name=name)


async def test_valid_token_logs_in_with_the_gateways_identity(
    gateway: FakeGateway, authenticator: GatewayAuthenticator
) -> None:
    gateway.add(TOKEN, "alice", ["exec:notebook", "read:tap"])
    model = await authenticator.authenticate(
        request({"X-Auth-Request-Token": TOKEN, "X-Auth-Request-User": "mallory"})
    )
    assert model is not None
    assert model["name"] == "alice"  # the header's user name is not used
    assert model["admin"] is False
    state = model["auth_state"]
    assert state["token"] == TOKEN
    assert (state["uid"], state["gid"]) == (40001, 40001)
    assert state["groups"] == [{"name": "g_users", "id": 50001}]
    assert state["token_expires"] == int(EXPIRES.timestamp())
    assert state["scopes"] == ["exec:notebook", "read:tap"]


async def test_admin_is_the_admin_jupyterlab_scope(
    gateway: FakeGateway, authenticator: GatewayAuthenticator
) -> None:
    gateway.add(TOKEN, "root", ["exec:notebook", "admin:jupyterlab"])
    model = await authenticator.authenticate(request({"X-Auth-Request-Token": TOKEN}))
    assert model is not None
    assert model["admin"] is True


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Auth-Request-User": "alice"},
        {"X-Auth-Request-User": "alice", "X-Auth-Request-Token": ""},
    ],
)
async def test_a_user_name_without_token_is_refused(
    authenticator: GatewayAuthenticator, headers: dict[str, str]
) -> None:
    with pytest.raises(web.HTTPError) as excinfo:
        await authenticator.authenticate(request(headers))
    assert excinfo.value.status_code == 401


async def test_unknown_expired_or_revoked_tokens_are_refused(
    gateway: FakeGateway, authenticator: GatewayAuthenticator
) -> None:
    with pytest.raises(web.HTTPError) as excinfo:
        await authenticator.authenticate(request({"X-Auth-Request-Token": OTHER}))
    assert excinfo.value.status_code == 401
    assert "invalid, expired or revoked" in str(excinfo.value.log_message)


@pytest.mark.parametrize(
    ("scopes", "token_type", "message"),
    [
        (["read:tap"], "notebook", "lacks the scopes exec:notebook"),
        (["exec:notebook"], "session", "A session token cannot be used"),
    ],
)
async def test_tokens_without_type_or_scope_are_refused(
    gateway: FakeGateway,
    authenticator: GatewayAuthenticator,
    scopes: list[str],
    token_type: str,
    message: str,
) -> None:
    gateway.add(TOKEN, "alice", scopes, token_type)
    with pytest.raises(web.HTTPError) as excinfo:
        await authenticator.authenticate(request({"X-Auth-Request-Token": TOKEN}))
    assert excinfo.value.status_code == 403
    assert message in str(excinfo.value.log_message)


async def test_gateway_down_is_a_503_not_a_login() -> None:
    authenticator = GatewayAuthenticator(gateway_url=GATEWAY)
    with respx.mock() as router:
        router.get(f"{GATEWAY}/auth/api/v1/user-info").mock(
            side_effect=httpx.ConnectError("down")
        )
        router.get(f"{GATEWAY}/auth/api/v1/token-info").mock(
            side_effect=httpx.ConnectError("down")
        )
        with pytest.raises(web.HTTPError) as excinfo:
            await authenticator.authenticate(request({"X-Auth-Request-Token": TOKEN}))
    assert excinfo.value.status_code == 503


async def test_refresh_follows_the_ingress_token(
    gateway: FakeGateway, authenticator: GatewayAuthenticator
) -> None:
    gateway.add(TOKEN, "alice", ["exec:notebook"])
    gateway.add(OTHER, "alice", ["exec:notebook", "admin:jupyterlab"])
    await authenticator.authenticate(request({"X-Auth-Request-Token": TOKEN}))
    calls = gateway.calls
    # Same token: nothing to do, and the gateway is not asked again.
    same = await authenticator.refresh_user(
        user("alice"), request({"X-Auth-Request-Token": TOKEN})
    )
    assert same is True
    assert gateway.calls == calls
    # No token (an internal API request): keep what is known.
    assert await authenticator.refresh_user(user("alice"), request({})) is True
    assert await authenticator.refresh_user(user("alice"), None) is True
    # A new token: the new state (and admin from its scopes).
    fresh = await authenticator.refresh_user(
        user("alice"), request({"X-Auth-Request-Token": OTHER})
    )
    assert isinstance(fresh, dict)
    assert fresh["auth_state"]["token"] == OTHER
    assert fresh["admin"] is True


async def test_refresh_with_someone_elses_or_a_revoked_token_forces_login(
    gateway: FakeGateway, authenticator: GatewayAuthenticator
) -> None:
    gateway.add(TOKEN, "bob", ["exec:notebook"])
    assert (
        await authenticator.refresh_user(
            user("alice"), request({"X-Auth-Request-Token": TOKEN})
        )
        is False
    )
    assert (
        await authenticator.refresh_user(
            user("alice"), request({"X-Auth-Request-Token": OTHER})
        )
        is False
    )


async def test_gateway_answers_are_cached_briefly_and_revocation_ends_them(
    gateway: FakeGateway,
) -> None:
    gateway.add(TOKEN, "alice", ["exec:notebook"])
    client = GatewayClient(GATEWAY, cache_seconds=30)
    first = await client.identify(TOKEN)
    calls = gateway.calls
    assert await client.identify(TOKEN) == first
    assert gateway.calls == calls
    del gateway.tokens[TOKEN]
    client.forget(TOKEN)
    with pytest.raises(InvalidTokenError):
        await client.identify(TOKEN)
    short = GatewayClient(GATEWAY, cache_seconds=0)
    gateway.add(TOKEN, "alice", ["exec:notebook"])
    await short.identify(TOKEN)
    del gateway.tokens[TOKEN]
    with pytest.raises(InvalidTokenError):
        await short.identify(TOKEN)


async def test_inconsistent_gateway_answers_are_refused() -> None:
    with respx.mock() as router:
        router.get(f"{GATEWAY}/auth/api/v1/user-info").mock(
            return_value=httpx.Response(200, json={"username": "alice"})
        )
        router.get(f"{GATEWAY}/auth/api/v1/token-info").mock(
            return_value=httpx.Response(200, json={"username": "bob"})
        )
        with pytest.raises(GatewayUnavailableError, match="different users"):
            await GatewayClient(GATEWAY).identify(TOKEN)


async def test_pre_spawn_hands_the_spawner_the_auth_state(
    authenticator: GatewayAuthenticator,
) -> None:
    received: list[dict[str, Any]] = []

    async def get_auth_state() -> dict[str, Any]:
        return {"token": TOKEN}

    spawner = SimpleNamespace(set_auth_state=received.append)
    hub_user = SimpleNamespace(name="alice", get_auth_state=get_auth_state)
    await authenticator.pre_spawn_start(hub_user, spawner)
    assert received == [{"token": TOKEN}]

    async def no_state() -> None:
        return None

    with pytest.raises(web.HTTPError, match="log out and log in again"):
        await authenticator.pre_spawn_start(
            SimpleNamespace(name="alice", get_auth_state=no_state), spawner
        )


def test_configuration_defaults() -> None:
    auth = GatewayAuthenticator()
    assert auth.auto_login is True
    assert auth.enable_auth_state is True
    assert auth.refresh_pre_spawn is True
    assert auth.allow_all is True
    assert auth.admin_scope == "admin:jupyterlab"
    assert auth.accepted_token_types == ["notebook"]
    handlers = dict(auth.get_handlers(None))
    assert set(handlers) == {"/login", "/logout"}


async def test_an_admins_request_does_not_refresh_another_user(
    gateway: FakeGateway, authenticator: GatewayAuthenticator
) -> None:
    gateway.add(TOKEN, "root", ["exec:notebook", "admin:jupyterlab"])
    handler = request({"X-Auth-Request-Token": TOKEN})
    handler._jupyterhub_user = user("root")
    calls = gateway.calls
    assert await authenticator.refresh_user(user("alice"), handler) is True
    assert gateway.calls == calls


async def test_a_revoked_token_ends_the_hub_session_within_cache_seconds(
    gateway: FakeGateway,
) -> None:
    authenticator = GatewayAuthenticator(gateway_url=GATEWAY, cache_seconds=0.3)
    gateway.add(TOKEN, "alice", ["exec:notebook"])
    ingress = request({"X-Auth-Request-Token": TOKEN})
    await authenticator.authenticate(ingress)
    calls = gateway.calls
    # Within cache_seconds the same token is not asked about again.
    assert await authenticator.refresh_user(user("alice"), ingress) is True
    assert gateway.calls == calls
    # Still valid once the answer is old: asked again, nothing to store.
    await asyncio.sleep(0.35)
    assert await authenticator.refresh_user(user("alice"), ingress) is True
    assert gateway.calls > calls
    # Revoked: at most cache_seconds later the hub session ends.
    del gateway.tokens[TOKEN]
    assert await authenticator.refresh_user(user("alice"), ingress) is True
    await asyncio.sleep(0.35)
    assert await authenticator.refresh_user(user("alice"), ingress) is False
    # And a new login with it is refused.
    with pytest.raises(web.HTTPError) as excinfo:
        await authenticator.authenticate(ingress)
    assert excinfo.value.status_code == 401


async def test_the_bound_counts_from_the_gateways_answer_not_the_login(
    gateway: FakeGateway,
) -> None:
    authenticator = GatewayAuthenticator(gateway_url=GATEWAY, cache_seconds=0.4)
    gateway.add(TOKEN, "alice", ["exec:notebook"])
    ingress = request({"X-Auth-Request-Token": TOKEN})
    await authenticator.gateway.identify(TOKEN)  # an earlier answer, cached
    await asyncio.sleep(0.25)
    await authenticator.authenticate(ingress)  # from the cache
    del gateway.tokens[TOKEN]
    await asyncio.sleep(0.2)  # 0.45 s after the answer, 0.2 s after the login
    assert await authenticator.refresh_user(user("alice"), ingress) is False


async def test_an_expired_token_is_asked_about_again_before_cache_seconds(
    gateway: FakeGateway, authenticator: GatewayAuthenticator
) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=0.3)
    gateway.add(TOKEN, "alice", ["exec:notebook"], expires=soon)
    ingress = request({"X-Auth-Request-Token": TOKEN})
    await authenticator.authenticate(ingress)
    assert await authenticator.refresh_user(user("alice"), ingress) is True
    del gateway.tokens[TOKEN]  # the gateway refuses it once expired
    await asyncio.sleep(0.35)
    assert await authenticator.refresh_user(user("alice"), ingress) is False


async def test_a_forged_user_header_with_another_users_token_forces_login(
    gateway: FakeGateway, authenticator: GatewayAuthenticator
) -> None:
    gateway.add(TOKEN, "alice", ["exec:notebook"])
    gateway.add(OTHER, "mallory", ["exec:notebook"])
    await authenticator.authenticate(request({"X-Auth-Request-Token": TOKEN}))
    forged = request({"X-Auth-Request-Token": OTHER, "X-Auth-Request-User": "alice"})
    assert await authenticator.refresh_user(user("alice"), forged) is False
