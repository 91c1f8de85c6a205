"""Rubin's own Gafaelfawr client (``rubin-gafaelfawr``) against our API.

The client finds the API through service discovery (``gafaelfawr``,
version ``v1``), so it is given a discovery document that points there,
as ``/repertoire/discovery`` will in the platform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import BASE_URL, MakeSession
from fastapi import FastAPI
from rubin.gafaelfawr import (
    GafaelfawrClient,
    GafaelfawrGroup,
    GafaelfawrNotFoundError,
    GafaelfawrWebError,
)
from rubin.repertoire import DiscoveryClient
from support.credentials import bearer

API_URL = f"{BASE_URL}/auth/api/v1"
DISCOVERY = {
    "services": {
        "internal": {
            "gafaelfawr": {
                "url": API_URL,
                "openapi": f"{BASE_URL}/auth/openapi.json",
                "versions": {"v1": {"url": API_URL}},
            }
        }
    }
}


def _discovery(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/repertoire/discovery"
    return httpx.Response(200, json=DISCOVERY)


@pytest.fixture
async def gafaelfawr(app: FastAPI) -> AsyncIterator[GafaelfawrClient]:
    """The real client, talking to the app in-process."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    discovery_http = httpx.AsyncClient(transport=httpx.MockTransport(_discovery))
    discovery = DiscoveryClient(discovery_http, base_url=f"{BASE_URL}/repertoire")
    client = GafaelfawrClient(http, discovery_client=discovery)
    try:
        yield client
    finally:
        await client.aclose()
        await discovery_http.aclose()
        await http.aclose()


async def test_create_service_token_and_read_user_info(
    gafaelfawr: GafaelfawrClient, make_session: MakeSession, client: httpx.AsyncClient
) -> None:
    admin = await make_session("root", ["admin:token"])
    expires = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    token = await gafaelfawr.create_service_token(
        str(admin),
        "bot-mobu-tap",
        scopes=["read:tap"],
        expires=expires,
        name="Mobu TAP",
        uid=90000,
        gid=90000,
        groups=[GafaelfawrGroup(name="bot-mobu", id=90000)],
    )
    assert token.startswith("gt-")

    info = await gafaelfawr.get_user_info(token)
    assert info.username == "bot-mobu-tap"
    assert info.name == "Mobu TAP"
    assert info.uid == 90000
    assert info.gid == 90000
    assert info.supplemental_groups == [90000]

    # The token is a real service token with what was asked for.
    r = await client.get(f"{API_URL}/token-info", headers=bearer(token))
    assert r.json()["token_type"] == "service"
    assert r.json()["scopes"] == ["read:tap"]
    assert r.json()["expires"] == int(expires.timestamp())


async def test_user_info_of_a_session(
    gafaelfawr: GafaelfawrClient, make_session: MakeSession
) -> None:
    session = await make_session(
        "alice",
        email="alice@example.org",
        uid=1001,
        gid=1001,
        groups=[],
    )
    info = await gafaelfawr.get_user_info(str(session))
    assert info.username == "alice"
    assert info.email == "alice@example.org"
    assert info.groups == []


async def test_user_info_by_username_for_admins(
    gafaelfawr: GafaelfawrClient, make_session: MakeSession
) -> None:
    await make_session("alice", uid=1001)
    admin = await make_session("root", ["admin:userinfo"])
    info = await gafaelfawr.get_user_info(str(admin), "alice")
    assert info.username == "alice"
    assert info.uid == 1001
    with pytest.raises(GafaelfawrNotFoundError):
        await gafaelfawr.get_user_info(str(admin), "nobody")


async def test_refusals_reach_the_client_as_errors(
    gafaelfawr: GafaelfawrClient, make_session: MakeSession
) -> None:
    user = await make_session("alice", ["read:tap", "user:token"])
    with pytest.raises(GafaelfawrWebError) as refused:
        await gafaelfawr.create_service_token(str(user), "bot-x", scopes=[])
    assert refused.value.status == 403
    with pytest.raises(GafaelfawrWebError) as invalid:
        await gafaelfawr.get_user_info(
            "gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"
        )
    assert invalid.value.status == 401
