"""The refresh of live GitHub sessions against the fake GitHub.

A person logs in through the fake GitHub (their session keeps the GitHub
token), their teams change at GitHub, and the refresh applies the change
to the session, its children and their user tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from conftest import MakeSession
from rsp_gateway.config import Config
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.models.history import TokenChange, TokenChangeHistoryEntry
from rsp_gateway.models.token import (
    AdminTokenRequest,
    Token,
    TokenData,
    TokenType,
    UserTokenRequest,
)
from rsp_gateway.services.group_refresh import (
    REFRESH_ACTOR,
    GroupRefreshService,
    RefreshOutcome,
)
from rsp_gateway.services.history import TokenHistoryService
from rsp_gateway.services.token import TokenService
from rsp_gateway.services.token_rules import operator_auth
from support.fake_github import FakeGitHub, FakeGitHubTeam, FakeGitHubUser
from support.refresh import (
    TAP_TEAM,
    add_bob,
    credential_rows,
    github_session,
    make_due,
    refresh_config,
)

ADMINS = FakeGitHubTeam("astro", "admins", 12)


@pytest.fixture
def config(make_config: Callable[..., Config], fake_github: FakeGitHub) -> Config:
    return refresh_config(make_config, fake_github)


@pytest.fixture
def bob(fake_github: FakeGitHub) -> FakeGitHubUser:
    return add_bob(fake_github)


@pytest.fixture
def refresher(factory: Factory) -> GroupRefreshService:
    return factory.create_group_refresh_service()


async def _data(service: TokenService, token: Token) -> TokenData:
    data = await service.validate(token)
    assert data is not None
    return data


async def _history(
    history: TokenHistoryService, key: str
) -> list[TokenChangeHistoryEntry]:
    entries, _, _, _ = await history.get_change_history(operator_auth("test"), key=key)
    return entries


def _bearer(token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_team_removed_narrows_session_children_and_user_tokens(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    refresher: GroupRefreshService,
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
    history_service: TokenHistoryService,
) -> None:
    session = await github_session(client, process_context, config)
    data = await _data(token_service, session)
    assert data.scopes == {"exec:notebook", "read:tap", "user:token"}
    notebook = await token_service.get_notebook_token(data, ip_address=None)
    tap_only = await token_service.get_internal_token(
        data, service="tap", scopes=["read:tap"], ip_address=None
    )
    both = await token_service.get_internal_token(
        data, service="portal", scopes=["exec:notebook", "read:tap"], ip_address=None
    )
    mine_tap = await token_service.create_user_token(
        data,
        "bob",
        UserTokenRequest(token_name="tap", scopes=["read:tap"]),
        ip_address=None,
    )
    mine_nb = await token_service.create_user_token(
        data,
        "bob",
        UserTokenRequest(token_name="nb", scopes=["exec:notebook"]),
        ip_address=None,
    )
    from_admin = await token_service.create_admin_token(
        operator_auth("<cli>"),
        AdminTokenRequest(
            username="bob",
            token_type=TokenType.user,
            token_name="granted",
            scopes=["read:tap"],
        ),
        ip_address=None,
    )
    # Warm every cache with the old scopes.
    assert (await client.get("/ingress/auth?scope=read:tap")).status_code == 200
    nb_tap = await client.get("/ingress/auth?scope=read:tap", headers=_bearer(notebook))
    assert nb_tap.status_code == 200

    bob.teams = [t for t in bob.teams if t != TAP_TEAM]
    await make_due(database_url)
    summary = await refresher.refresh_due()
    assert summary[RefreshOutcome.changed] == 1
    assert summary.total == 1

    # The session lost read:tap, and every worker sees it at once.
    after = await _data(token_service, session)
    assert after.scopes == {"exec:notebook", "user:token"}
    assert [g.name for g in after.groups] == ["astro-observers"]
    refused = await client.get("/ingress/auth?scope=read:tap")
    assert refused.status_code == 403
    assert "insufficient_scope" in refused.headers["www-authenticate"]
    assert (await client.get("/ingress/auth?scope=exec:notebook")).status_code == 200

    # The notebook token is clipped, and works for what is left.
    nb_data = await _data(token_service, notebook)
    assert nb_data.scopes == {"exec:notebook", "user:token"}
    assert [g.name for g in nb_data.groups] == ["astro-observers"]
    nb_tap = await client.get("/ingress/auth?scope=read:tap", headers=_bearer(notebook))
    assert nb_tap.status_code == 403
    nb_ok = await client.get(
        "/ingress/auth?scope=exec:notebook", headers=_bearer(notebook)
    )
    assert nb_ok.status_code == 200
    # A child left with no scope is revoked; one with some left is clipped.
    assert await token_service.validate(tap_only) is None
    assert (await _data(token_service, both)).scopes == {"exec:notebook"}
    # The person's own user token holding read:tap is revoked, the other kept;
    # the one an admin made is the admin's decision and stays.
    assert await token_service.validate(mine_tap) is None
    assert (await _data(token_service, mine_nb)).scopes == {"exec:notebook"}
    assert (await _data(token_service, from_admin)).scopes == {"read:tap"}

    # Every change is in the history, by <refresh>.
    (edit, _) = await _history(history_service, session.key)
    assert (edit.action, edit.actor) == (TokenChange.edit, REFRESH_ACTOR)
    assert edit.old_scopes == ["exec:notebook", "read:tap", "user:token"]
    assert edit.scopes == ["exec:notebook", "user:token"]
    (nb_edit, _) = await _history(history_service, notebook.key)
    assert (nb_edit.action, nb_edit.actor) == (TokenChange.edit, REFRESH_ACTOR)
    assert nb_edit.old_scopes == ["exec:notebook", "read:tap", "user:token"]
    for revoked in (tap_only, mine_tap):
        (entry, _) = await _history(history_service, revoked.key)
        assert (entry.action, entry.actor) == (TokenChange.revoke, REFRESH_ACTOR)
    assert len(await _history(history_service, from_admin.key)) == 1
    assert len(await _history(history_service, mine_nb.key)) == 1


async def test_team_added_widens_session_only(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    refresher: GroupRefreshService,
    bob: FakeGitHubUser,
    database_url: str,
    history_service: TokenHistoryService,
) -> None:
    session = await github_session(client, process_context, config)
    notebook = await token_service.get_notebook_token(
        await _data(token_service, session), ip_address=None
    )
    assert (await client.get("/ingress/auth?scope=admin:token")).status_code == 403

    bob.teams = [*bob.teams, ADMINS]
    bob.name = "Robert Example"
    bob.emails = [{"email": "robert@example.org", "primary": True, "verified": True}]
    await make_due(database_url)
    assert (await refresher.refresh_due())[RefreshOutcome.changed] == 1

    data = await _data(token_service, session)
    assert data.scopes == {"admin:token", "exec:notebook", "read:tap", "user:token"}
    assert (data.name, data.email) == ("Robert Example", "robert@example.org")
    assert (await client.get("/ingress/auth?scope=admin:token")).status_code == 200
    # Children keep their scopes but carry the new identity.
    child = await _data(token_service, notebook)
    assert child.scopes == {"exec:notebook", "read:tap", "user:token"}
    assert (child.name, child.email) == ("Robert Example", "robert@example.org")
    assert [g.name for g in child.groups] == [
        "astro-admins",
        "astro-observers",
        "astro-tap",
    ]
    info = (await client.get("/auth/api/v1/user-info")).json()
    assert info["name"] == "Robert Example"
    (edit, _) = await _history(history_service, session.key)
    assert edit.old_scopes == ["exec:notebook", "read:tap", "user:token"]
    assert edit.actor == REFRESH_ACTOR
    assert len(await _history(history_service, notebook.key)) == 1


async def test_unchanged_identity_changes_nothing(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    refresher: GroupRefreshService,
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
    history_service: TokenHistoryService,
) -> None:
    session = await github_session(client, process_context, config)
    before = await _data(token_service, session)
    await make_due(database_url)
    summary = await refresher.refresh_due()
    assert summary[RefreshOutcome.unchanged] == 1
    assert await _data(token_service, session) == before
    assert len(await _history(history_service, session.key)) == 1
    (row,) = await credential_rows(database_url)
    assert datetime.now(UTC) - row["refreshed"] < timedelta(seconds=30)
    assert row["claimed_until"] is None


async def test_interval_is_respected(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    refresher: GroupRefreshService,
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    session = await github_session(client, process_context, config)
    fake_github.api_requests.clear()
    # Just logged in, and 59 minutes later: not due (interval 1 hour).
    assert (await refresher.refresh_due()).total == 0
    await make_due(database_url, timedelta(minutes=59), key=session.key)
    assert (await refresher.refresh_due()).total == 0
    assert fake_github.api_requests == []
    await make_due(database_url, timedelta(minutes=61), key=session.key)
    assert (await refresher.refresh_due()).total == 1
    assert "/user/teams" in fake_github.api_requests
    # Refreshed: not due again until the next interval.
    fake_github.api_requests.clear()
    assert (await refresher.refresh_due()).total == 0
    assert fake_github.api_requests == []


async def test_no_scope_left_revokes_the_session(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    refresher: GroupRefreshService,
    bob: FakeGitHubUser,
    database_url: str,
    history_service: TokenHistoryService,
) -> None:
    session = await github_session(client, process_context, config)
    notebook = await token_service.get_notebook_token(
        await _data(token_service, session), ip_address=None
    )
    bob.teams = [FakeGitHubTeam("astro", "tea-club", 99)]
    await make_due(database_url)
    assert (await refresher.refresh_due())[RefreshOutcome.revoked] == 1
    assert await token_service.validate(session) is None
    assert await token_service.validate(notebook) is None
    assert (await client.get("/ingress/auth?scope=exec:notebook")).status_code == 401
    for key in (session.key, notebook.key):
        (entry, _) = await _history(history_service, key)
        assert (entry.action, entry.actor) == (TokenChange.revoke, REFRESH_ACTOR)
    assert await credential_rows(database_url) == []


async def test_github_401_revokes_the_session(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    refresher: GroupRefreshService,
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
    history_service: TokenHistoryService,
) -> None:
    session = await github_session(client, process_context, config)
    assert (await client.get("/ingress/auth?scope=read:tap")).status_code == 200
    fake_github.revoke_tokens("bob")
    await make_due(database_url)
    assert (await refresher.refresh_due())[RefreshOutcome.revoked] == 1
    assert await token_service.validate(session) is None
    assert (await client.get("/ingress/auth?scope=read:tap")).status_code == 401
    (entry, _) = await _history(history_service, session.key)
    assert (entry.action, entry.actor) == (TokenChange.revoke, REFRESH_ACTOR)


async def test_github_account_renamed_revokes_the_session(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    refresher: GroupRefreshService,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    session = await github_session(client, process_context, config)
    bob.login = "robert"  # the session's user name no longer names this account
    await make_due(database_url)
    assert (await refresher.refresh_due())[RefreshOutcome.revoked] == 1
    assert await token_service.validate(session) is None


@pytest.mark.parametrize("failure", ["502", "503", "403", "timeout"])
async def test_github_failure_changes_nothing_and_is_retried(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    refresher: GroupRefreshService,
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
    failure: str,
    history_service: TokenHistoryService,
) -> None:
    session = await github_session(client, process_context, config)
    before = await _data(token_service, session)
    bob.teams = []  # would revoke the session, if GitHub could say so
    if failure == "timeout":
        fake_github.api_delay = 1.0  # the configured timeout is 0.5 seconds
    else:
        fake_github.api_failure = int(failure)
    await make_due(database_url)
    assert (await refresher.refresh_due())[RefreshOutcome.failed] == 1
    assert await _data(token_service, session) == before
    assert len(await _history(history_service, session.key)) == 1
    (row,) = await credential_rows(database_url)
    assert row["claimed_until"] > datetime.now(UTC)  # waits before the next try
    assert (await refresher.refresh_due()).total == 0

    # Once GitHub is back and the wait is over, the next run applies the change.
    fake_github.api_delay = 0.0
    fake_github.api_failure = None
    await _set_credentials(database_url, "claimed_until = now()")
    assert (await refresher.refresh_due())[RefreshOutcome.revoked] == 1
    assert await token_service.validate(session) is None


async def _set_credentials(database_url: str, assignment: str) -> None:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
    try:
        await connection.execute(f"UPDATE github_credential SET {assignment}")
    finally:
        await connection.close()


async def test_unreadable_github_token_revokes_the_session(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    refresher: GroupRefreshService,
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    session = await github_session(client, process_context, config)
    await _set_credentials(database_url, "encrypted_token = 'not-a-fernet-token'")
    await make_due(database_url)
    fake_github.api_requests.clear()
    assert (await refresher.refresh_due())[RefreshOutcome.revoked] == 1
    assert fake_github.api_requests == []
    assert await token_service.validate(session) is None


async def test_dev_login_sessions_are_not_refreshed(
    make_session: MakeSession,
    fake_github: FakeGitHub,
    token_service: TokenService,
    refresher: GroupRefreshService,
    database_url: str,
) -> None:
    session = await make_session("devuser", ["read:tap"])
    assert await credential_rows(database_url) == []
    await make_due(database_url)
    assert (await refresher.refresh_due()).total == 0
    assert fake_github.api_requests == []
    assert await token_service.validate(session) is not None
