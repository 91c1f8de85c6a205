"""Delegated ingress requests: the database only when a child is minted.

A delegated route (``delegate_to``, e.g. TAP) asks for a child token on
every request. Reusing a live child must cost no database query on any
worker: the parent's scopes are re-read in the database only when a new
child is minted, and a group refresh that narrows the parent evicts the
parent and its children from every worker's cache, so a lost scope still
stops delegated access at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from rsp_gateway.config import Config
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.models.token import Token, TokenData
from rsp_gateway.services.token import TokenService
from support.fake_github import FakeGitHub, FakeGitHubUser
from support.refresh import TAP_TEAM, add_bob, github_session, make_due, refresh_config
from test_token_cache import count_queries

AUTH = "/ingress/auth"
DELEGATED = {
    "scope": "read:tap",
    "delegate_to": "tap",
    "delegate_scope": "read:tap",
}


@pytest.fixture
def config(make_config: Callable[..., Config], fake_github: FakeGitHub) -> Config:
    return refresh_config(make_config, fake_github)


@pytest.fixture
def bob(fake_github: FakeGitHub) -> FakeGitHubUser:
    return add_bob(fake_github)


def _bearer(token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _is_parent_recheck(statement: str) -> bool:
    return "FOR SHARE" in statement.upper()


async def _validated(service: TokenService, token: Token) -> TokenData:
    data = await service.validate(token)
    assert data is not None
    return data


async def test_reused_child_costs_no_query_on_any_worker(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    bob: FakeGitHubUser,
) -> None:
    session = await github_session(client, process_context, config)
    with count_queries(process_context) as minting:
        first = await client.get(AUTH, params=DELEGATED, headers=_bearer(session))
    assert first.status_code == 200
    child = first.headers["X-Auth-Request-Token"]
    # Minting re-reads the parent's scopes in the database, under a lock.
    assert any(_is_parent_recheck(s) for s in minting), minting

    # The first reuse reads the new child's own record once (then cached
    # like any token's); the parent is not read again.
    with count_queries(process_context) as first_reuse:
        again = await client.get(AUTH, params=DELEGATED, headers=_bearer(session))
        assert again.headers["X-Auth-Request-Token"] == child
    assert not any(_is_parent_recheck(s) for s in first_reuse), first_reuse
    with count_queries(process_context) as reusing:
        for _ in range(20):
            again = await client.get(AUTH, params=DELEGATED, headers=_bearer(session))
            assert again.headers["X-Auth-Request-Token"] == child
    assert reusing == []

    # Another worker finds the parent and the child in Redis: no query either.
    other = await ProcessContext.from_config(config)
    try:
        assert await other.wait_for_redis(within=5)
        tokens = Factory(other).create_token_service()
        with count_queries(other) as elsewhere:
            for _ in range(5):
                parent = await _validated(tokens, session)
                found = await tokens.get_internal_token(
                    parent, service="tap", scopes=["read:tap"], ip_address=None
                )
                assert str(found) == child
        assert elsewhere == []
    finally:
        await other.aclose()


async def test_refresh_removing_the_scope_stops_delegated_access_at_once(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    session = await github_session(client, process_context, config)
    first = await client.get(AUTH, params=DELEGATED, headers=_bearer(session))
    assert first.status_code == 200
    child = Token.from_str(first.headers["X-Auth-Request-Token"])

    # A second worker with the parent and the child in its caches.
    other = await ProcessContext.from_config(config)
    try:
        assert await other.wait_for_redis(within=5)
        tokens = Factory(other).create_token_service()
        parent = await _validated(tokens, session)
        await tokens.get_internal_token(
            parent, service="tap", scopes=["read:tap"], ip_address=None
        )
        assert await tokens.validate(child) is not None

        bob.teams = [t for t in bob.teams if t != TAP_TEAM]
        await make_due(database_url)
        await Factory(process_context).create_group_refresh_service().refresh_due()

        # This worker: refused at once, and the child (left with no scope)
        # is gone.
        refused = await client.get(AUTH, params=DELEGATED, headers=_bearer(session))
        assert refused.status_code == 403
        assert (
            await Factory(process_context).create_token_service().validate(child)
            is None
        )
        # The other worker: as soon as the eviction arrives (moments).
        async with asyncio.timeout(2):
            while True:
                if "read:tap" not in (await _validated(tokens, session)).scopes:
                    break
                await asyncio.sleep(0.01)
        assert await tokens.validate(child) is None
    finally:
        await other.aclose()
