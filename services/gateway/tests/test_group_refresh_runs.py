"""How the refresh runs and keeps its secret: claims, the loop, the CLI, logs.

Also the table that holds the GitHub tokens (encrypted, migrated on both
databases) and the delegation rules that keep children within a session
whose scopes a refresh changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from asgi_lifespan import LifespanManager
from click.testing import CliRunner
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from rsp_gateway.cli import main as cli
from rsp_gateway.config import Config
from rsp_gateway.exceptions import InsufficientScopeError
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.log import configure_logging
from rsp_gateway.main import create_app
from rsp_gateway.models.token import Token, TokenData
from rsp_gateway.models.userinfo import Group, UserInfo
from rsp_gateway.schema import Base, TokenRecord
from rsp_gateway.services.group_refresh import RefreshOutcome
from rsp_gateway.services.history import TokenHistoryService
from rsp_gateway.services.refresh_loop import GroupRefreshLoop
from rsp_gateway.services.token import TokenService
from rsp_gateway.services.token_rules import operator_auth
from rsp_gateway.storage.credential import (
    GitHubCredentialStore,
    GitHubTokenCipher,
    UnreadableCredentialError,
)
from rsp_gateway.storage.database import (
    alembic_config,
    create_database_engine,
    create_session_maker,
    migrate_database,
)
from sqlalchemy import Connection, text
from support.fake_github import FakeGitHub, FakeGitHubUser
from support.login_flow import BASE_URL
from support.refresh import (
    TAP_TEAM,
    add_bob,
    credential_rows,
    github_session,
    make_due,
    refresh_config,
)


@pytest.fixture
def config(make_config: Callable[..., Config], fake_github: FakeGitHub) -> Config:
    return refresh_config(make_config, fake_github)


@pytest.fixture
def bob(fake_github: FakeGitHub) -> FakeGitHubUser:
    return add_bob(fake_github)


# The stored GitHub token -------------------------------------------------


async def test_login_keeps_the_github_token_encrypted(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    session = await github_session(client, process_context, config)
    (github_token,) = fake_github.tokens
    (row,) = await credential_rows(database_url)
    assert row["token"] == session.key
    assert github_token not in row["encrypted_token"]
    assert github_token.encode() not in json.dumps(row, default=str).encode()
    cipher = GitHubTokenCipher(config.token_hash_key.get_secret_value())
    assert cipher.decrypt(row["encrypted_token"]).get_secret_value() == github_token
    # Fernet, under a key of its own: the cookie's key does not open it.
    assert row["encrypted_token"].startswith("gAAAAA")
    with pytest.raises(UnreadableCredentialError):
        GitHubTokenCipher(config.session_secret.get_secret_value()).decrypt(
            row["encrypted_token"]
        )
    assert datetime.now(UTC) - row["refreshed"] < timedelta(seconds=30)
    # Logout ends the session and forgets the GitHub token with it.
    assert (await client.get("/logout")).status_code == 302
    assert await credential_rows(database_url) == []


async def test_disabled_refresh_keeps_no_github_token(
    make_config: Callable[..., Config],
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    config = refresh_config(make_config, fake_github, group_refresh_interval="PT0S")
    app = create_app(config)
    async with LifespanManager(app):
        context: ProcessContext = app.state.process_context
        assert context.group_refresh is None
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url=BASE_URL) as client:
            await github_session(client, context, config)
        assert await credential_rows(database_url) == []
        refresher = Factory(context).create_group_refresh_service()
        assert not refresher.enabled
        assert (await refresher.refresh_due()).total == 0


def test_refresh_interval_must_be_zero_or_a_minute(
    make_config: Callable[..., Config],
) -> None:
    assert make_config(group_refresh_interval="PT1M").group_refresh_interval
    with pytest.raises(ValueError, match="at least one minute"):
        make_config(group_refresh_interval="PT30S")
    with pytest.raises(ValueError, match="at least one minute"):
        make_config(group_refresh_interval=timedelta(seconds=-5))


async def test_github_token_never_logged(
    make_config: Callable[..., Config],
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = refresh_config(make_config, fake_github, log_json=True, log_level="DEBUG")
    app = create_app(config)
    try:
        async with LifespanManager(app):
            context: ProcessContext = app.state.process_context
            transport = ASGITransport(app=app)
            async with AsyncClient(transport=transport, base_url=BASE_URL) as client:
                await github_session(client, context, config)
                await github_session(client, context, config)
            refresher = Factory(context).create_group_refresh_service()
            # A change, a passing failure, then a revoked token: every path.
            bob.teams = [t for t in bob.teams if t != TAP_TEAM]
            await make_due(database_url)
            assert (await refresher.refresh_due())[RefreshOutcome.changed] == 2
            fake_github.api_failure = 502
            await make_due(database_url)
            assert (await refresher.refresh_due())[RefreshOutcome.failed] == 2
            fake_github.api_failure = None
            issued = list(fake_github.tokens)
            fake_github.revoke_tokens("bob")
            await _set_credentials(database_url, "claimed_until = NULL")
            await make_due(database_url)
            assert (await refresher.refresh_due())[RefreshOutcome.revoked] == 2
    finally:
        configure_logging(make_config())
    output = capsys.readouterr()
    logged = output.out + output.err
    assert "Revoked GitHub session at refresh" in logged
    assert "Could not refresh GitHub session" in logged
    assert len(issued) == 2
    for token in issued:
        assert token not in logged


async def _set_credentials(database_url: str, assignment: str) -> None:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
    try:
        await connection.execute(f"UPDATE github_credential SET {assignment}")
    finally:
        await connection.close()


# The migration -------------------------------------------------------------


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_url(
    request: pytest.FixtureRequest, make_database: Callable[[], str], tmp_path: Path
) -> str:
    if request.param == "postgresql":
        return make_database()
    return f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite'}"


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _downgrade_to_0001(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0001_initial")


async def test_migration_0002_upgrades_live_data_and_matches_models(
    empty_url: str,
) -> None:
    engine = create_database_engine(empty_url)
    now = datetime.now(UTC)
    try:
        assert await migrate_database(engine, "0001_initial") is None
        sessions = create_session_maker(engine)
        async with sessions.begin() as session:
            session.add(
                TokenRecord(
                    key="s" * 22,
                    secret_hash="0" * 64,
                    username="alice",
                    token_type="session",
                    scopes=[],
                    created=now,
                    expires=now + timedelta(days=1),
                )
            )
        assert await migrate_database(engine) == "0001_initial"
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
        async with sessions.begin() as session:
            GitHubCredentialStore(session).add("s" * 22, "sealed", now)
        async with sessions() as session:
            record = await GitHubCredentialStore(session).get("s" * 22)
            assert record is not None
            assert record.refreshed == now
        # Deleting the session deletes its GitHub token (cascade).
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM token"))
        async with sessions() as session:
            assert await GitHubCredentialStore(session).get("s" * 22) is None
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_0001)
            tables = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
        assert "github_credential" not in tables
        assert "token" in tables
    finally:
        await engine.dispose()


# Claims and concurrent refreshers --------------------------------------


async def test_claims_skip_rows_another_refresher_holds(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    for _ in range(3):
        await github_session(client, process_context, config)
    await make_due(database_url)
    sessions = process_context.sessions
    now = datetime.now(UTC)
    claim = {
        "now": now,
        "refreshed_before": now - timedelta(hours=1),
        "until": now + timedelta(minutes=10),
    }
    async with sessions.begin() as first:
        taken = await GitHubCredentialStore(first).claim_due(limit=2, **claim)
        assert len(taken) == 2
        # While the first holds its rows, a second claim skips them (and
        # does not wait for them).
        async with sessions.begin() as second:
            other = await asyncio.wait_for(
                GitHubCredentialStore(second).claim_due(limit=10, **claim), 5
            )
        assert len(other) == 1
        assert {d.key for d in other}.isdisjoint({d.key for d in taken})
    # Once claimed, rows are not due to anyone until the claim lapses.
    async with sessions.begin() as third:
        assert await GitHubCredentialStore(third).claim_due(limit=10, **claim) == []


async def test_concurrent_refreshers_apply_each_change_once(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
    history_service: TokenHistoryService,
) -> None:
    tokens = [await github_session(client, process_context, config) for _ in range(4)]
    bob.teams = [t for t in bob.teams if t != TAP_TEAM]
    await make_due(database_url)
    fake_github.api_delay = 0.05  # so that the refreshers overlap
    fake_github.api_requests.clear()
    other = await ProcessContext.from_config(config)
    try:
        summaries = await asyncio.gather(
            Factory(process_context).create_group_refresh_service().refresh_due(),
            Factory(other).create_group_refresh_service().refresh_due(),
            Factory(other).create_group_refresh_service().refresh_due(),
        )
    finally:
        await other.aclose()
    assert sum(s[RefreshOutcome.changed] for s in summaries) == 4
    assert sum(s.total for s in summaries) == 4
    assert fake_github.api_requests.count("/user") == 4
    for token in tokens:
        data = await token_service.validate(token)
        assert data is not None
        assert "read:tap" not in data.scopes
        entries, _, _, _ = await history_service.get_change_history(
            _admin(), key=token.key
        )
        assert [e.action.value for e in entries] == ["edit", "create"]


async def test_result_is_dropped_when_the_claim_was_lost(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    fake_github: FakeGitHub,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    session = await github_session(client, process_context, config)
    bob.teams = []
    await make_due(database_url)
    fake_github.api_delay = 0.3
    fake_github.api_requests.clear()  # the login's own calls
    refresher = Factory(process_context).create_group_refresh_service()
    running = asyncio.create_task(refresher.refresh_due())
    async with asyncio.timeout(5):
        while "/user" not in fake_github.api_requests:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    # Meanwhile the claim lapsed and another refresher took the session.
    await _set_credentials(database_url, "claimed_until = now() + interval '1 hour'")
    summary = await running
    assert summary[RefreshOutcome.skipped] == 1
    assert await token_service.validate(session) is not None


def _admin() -> TokenData:
    return operator_auth("test")


# Where it runs ---------------------------------------------------------


async def test_server_refreshes_in_the_background(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    # The application started the loop (every 5 minutes for a 1 hour interval).
    assert process_context.group_refresh is not None
    session = await github_session(client, process_context, config)
    bob.teams = [t for t in bob.teams if t != TAP_TEAM]
    await make_due(database_url)
    refresher = Factory(process_context).create_group_refresh_service()
    loop = GroupRefreshLoop(
        refresher.refresh_due,
        period=timedelta(seconds=0.05),
        first_delay=timedelta(0),
    )
    loop.start()
    try:
        async with asyncio.timeout(5):
            while loop.runs < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await loop.aclose()
    data = await token_service.validate(session)
    assert data is not None
    assert data.scopes == {"exec:notebook", "user:token"}


async def test_dev_login_server_runs_no_refresh(
    make_config: Callable[..., Config],
) -> None:
    app = create_app(make_config())
    async with LifespanManager(app):
        context: ProcessContext = app.state.process_context
        assert context.group_refresh is None


def test_maintenance_command_refreshes_due_sessions(
    config: Config, fake_github: FakeGitHub, bob: FakeGitHubUser, database_url: str
) -> None:
    fake_github.tokens["gho_cli-test-token"] = "bob"
    user = UserInfo(
        username="bob",
        uid=5151,
        gid=5151,
        groups=[Group(name="astro-observers", id=11), Group(name="astro-tap", id=15)],
    )
    session = asyncio.run(_cli_session(config, user))
    asyncio.run(make_due(database_url))
    bob.teams = [t for t in bob.teams if t != TAP_TEAM]
    github = config.github
    assert github is not None
    env: dict[str, str | None] = {
        "RSP_GATEWAY_CONFIG_PATH": "",
        "RSP_GATEWAY_DATABASE_URL": config.database_url.get_secret_value(),
        "RSP_GATEWAY_SESSION_SECRET": config.session_secret.get_secret_value(),
        "RSP_GATEWAY_TOKEN_HASH_KEY": config.token_hash_key.get_secret_value(),
        "RSP_GATEWAY_REDIS_URL": None,
        "RSP_GATEWAY_LOG_JSON": "false",
        "RSP_GATEWAY_GROUP_MAPPING": json.dumps(config.group_mapping),
        "RSP_GATEWAY_GITHUB__CLIENT_ID": github.client_id,
        "RSP_GATEWAY_GITHUB__CLIENT_SECRET": github.client_secret.get_secret_value(),
        "RSP_GATEWAY_GITHUB__API_URL": str(github.api_url),
    }
    result = CliRunner().invoke(cli, ["maintenance"], env=env)
    assert result.exit_code == 0, result.output
    assert "refreshed 1 GitHub sessions (1 changed, 0 revoked, 0 failed)" in (
        result.stdout
    )
    assert "gho_cli-test-token" not in result.stdout + result.stderr
    data = asyncio.run(_validate(config, session))
    assert data is not None
    assert data.scopes == {"exec:notebook", "user:token"}


async def _cli_session(config: Config, user: UserInfo) -> Token:
    context = await ProcessContext.from_config(config)
    try:
        return (
            await Factory(context)
            .create_token_service()
            .create_session_token(
                user,
                ["exec:notebook", "read:tap", "user:token"],
                ip_address=None,
                github_token=SecretStr("gho_cli-test-token"),
            )
        )
    finally:
        await context.aclose()


async def _validate(config: Config, token: Token) -> TokenData | None:
    context = await ProcessContext.from_config(config)
    try:
        return await Factory(context).create_token_service().validate(token)
    finally:
        await context.aclose()


# Children stay within a session whose scopes changed -------------------


async def test_stale_view_of_the_session_cannot_mint_a_wider_child(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    session = await github_session(client, process_context, config)
    stale = await token_service.validate(session)
    assert stale is not None
    bob.teams = [t for t in bob.teams if t != TAP_TEAM]
    await make_due(database_url)
    await Factory(process_context).create_group_refresh_service().refresh_due()
    # A request that validated the session just before the refresh.
    with pytest.raises(InsufficientScopeError):
        await token_service.get_internal_token(
            stale, service="tap", scopes=["read:tap"], ip_address=None
        )
    with pytest.raises(InsufficientScopeError):
        await token_service.get_notebook_token(stale, ip_address=None)


async def test_clipped_child_is_not_reused_when_the_scope_comes_back(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    token_service: TokenService,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    session = await github_session(client, process_context, config)
    refresher = Factory(process_context).create_group_refresh_service()

    async def data() -> TokenData:
        found = await token_service.validate(session)
        assert found is not None
        return found

    first = await token_service.get_notebook_token(await data(), ip_address=None)
    bob.teams = [t for t in bob.teams if t != TAP_TEAM]
    await make_due(database_url)
    await refresher.refresh_due()
    bob.teams = [*bob.teams, TAP_TEAM]
    await make_due(database_url)
    await refresher.refresh_due()
    full = await data()
    assert "read:tap" in full.scopes
    second = await token_service.get_notebook_token(full, ip_address=None)
    assert second != first
    child = await token_service.validate(second)
    assert child is not None
    assert child.scopes == full.scopes


async def test_other_workers_see_the_change_at_once(
    client: httpx.AsyncClient,
    config: Config,
    process_context: ProcessContext,
    bob: FakeGitHubUser,
    database_url: str,
) -> None:
    session = await github_session(client, process_context, config)
    other = await ProcessContext.from_config(config)
    try:
        assert await other.wait_for_redis(within=5)
        other_tokens = Factory(other).create_token_service()
        before = await other_tokens.validate(session)
        assert before is not None
        assert "read:tap" in before.scopes  # now in the other worker's cache
        bob.teams = [t for t in bob.teams if t != TAP_TEAM]
        await make_due(database_url)
        await Factory(process_context).create_group_refresh_service().refresh_due()
        async with asyncio.timeout(2):
            while True:
                after = await other_tokens.validate(session)
                assert after is not None
                if "read:tap" not in after.scopes:
                    break
                await asyncio.sleep(0.01)
    finally:
        await other.aclose()
