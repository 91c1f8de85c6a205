"""Logout also has GitHub delete the access token the session's login made."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from httpx import AsyncClient
from rsp_gateway.config import Config
from rsp_gateway.factory import ProcessContext
from rsp_gateway.models.token import Token
from rsp_gateway.services.token import TokenService
from support.fake_github import FakeGitHub, FakeGitHubUser
from support.login_flow import (
    add_alice,
    cookie_state,
    github_login,
    github_login_config,
)


@pytest.fixture
def config(make_config: Callable[..., Config], fake_github: FakeGitHub) -> Config:
    return github_login_config(make_config, fake_github)


@pytest.fixture
def alice(fake_github: FakeGitHub) -> FakeGitHubUser:
    return add_alice(fake_github)


async def _log_in(
    client: AsyncClient, config: Config, process_context: ProcessContext
) -> Token:
    response = await github_login(client)
    state = cookie_state(process_context, response, config.cookie_name)
    return Token.from_str(state.token or "")


async def test_logout_deletes_the_github_token(
    client: AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    fake_github: FakeGitHub,
    process_context: ProcessContext,
) -> None:
    await _log_in(client, config, process_context)
    (github_token,) = fake_github.tokens

    response = await client.get("/logout")

    assert response.status_code == 302
    assert fake_github.deleted_tokens == [github_token]
    assert github_token not in fake_github.tokens


async def test_logout_succeeds_when_github_fails(
    client: AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    fake_github: FakeGitHub,
    process_context: ProcessContext,
    token_service: TokenService,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = await _log_in(client, config, process_context)
    (github_token,) = fake_github.tokens
    fake_github.delete_failure = 503

    response = await client.get("/logout")

    assert response.status_code == 302
    assert await token_service.validate(token) is None
    assert fake_github.deleted_tokens == []
    logged = capsys.readouterr()
    output = logged.out + logged.err
    assert "Could not revoke the session's GitHub token" in output
    assert github_token not in output
    assert fake_github.client_secret not in output


async def test_a_token_github_forgot_still_logs_out(
    client: AsyncClient,
    config: Config,
    alice: FakeGitHubUser,
    fake_github: FakeGitHub,
    process_context: ProcessContext,
    token_service: TokenService,
) -> None:
    token = await _log_in(client, config, process_context)
    fake_github.revoke_tokens(alice.login)

    response = await client.get("/logout")

    assert response.status_code == 302
    assert await token_service.validate(token) is None
    assert fake_github.deleted_tokens == []
