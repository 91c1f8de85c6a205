"""Login logic that needs no token store: state checks, identity and scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import structlog
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.exceptions import LoginFailedError, UpstreamError
from rsp_gateway.models.github import GitHubEmail, GitHubTeam, GitHubUserInfo
from rsp_gateway.models.session import SessionState
from rsp_gateway.services.login import LOGIN_STATE_LIFETIME, LoginService, PendingLogin
from rsp_gateway.services.token import TokenService


class _NoTokens:
    """Stands in for the token service where the logic must not use it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"token service used: {name}")


@pytest.fixture
def service() -> LoginService:
    config = Config(
        base_url="https://data.example.org",
        database_url=SecretStr("sqlite+aiosqlite:///unused"),
        session_secret=SecretStr("s" * 44),
        token_hash_key=SecretStr("k" * 44),
        github={"client_id": "id", "client_secret": "secret"},
        group_mapping={
            "exec:notebook": ["astro-observers", "astro-admins"],
            "read:tap": ["astro-observers"],
            "admin:token": ["astro-admins"],
            "exec:portal": ["nobody-here"],
        },
    )
    return LoginService(
        config=config,
        token_service=cast(TokenService, _NoTokens()),
        github=None,
        logger=structlog.get_logger("test"),
    )


def _pending(started: datetime | None = None) -> PendingLogin:
    return PendingLogin(
        state="the-state",
        return_url="https://data.example.org/nb/",
        started=started or datetime.now(tz=UTC),
    )


def test_scopes_from_groups(service: LoginService) -> None:
    assert service.scopes_for(["astro-observers"]) == ["exec:notebook", "read:tap"]
    assert service.scopes_for(["astro-admins", "x"]) == ["admin:token", "exec:notebook"]
    assert service.scopes_for(["astro-observers", "astro-admins"]) == [
        "admin:token",
        "exec:notebook",
        "read:tap",
    ]
    assert service.scopes_for(["other-team"]) == []
    assert service.scopes_for([]) == []


def test_begin_login_makes_fresh_random_state(service: LoginService) -> None:
    first = service.begin_login("https://data.example.org/")
    second = service.begin_login("https://data.example.org/")
    assert first.login_state
    assert second.login_state
    assert first.login_state != second.login_state
    assert len(first.login_state) >= 32
    assert first.token is None


def test_take_pending_login_consumes_it() -> None:
    state = SessionState(
        token="kept",
        csrf="kept-too",
        login_state="abc",
        return_url="https://data.example.org/",
        login_started=datetime.now(tz=UTC),
    )
    pending, remaining = LoginService.take_pending_login(state)
    assert pending is not None
    assert pending.state == "abc"
    assert remaining == SessionState(token="kept", csrf="kept-too")
    pending, _ = LoginService.take_pending_login(remaining)
    assert pending is None


def test_matching_state_gives_return_url(service: LoginService) -> None:
    url = service.check_pending_login(_pending(), "the-state")
    assert url == "https://data.example.org/nb/"


@pytest.mark.parametrize("sent", [None, "", "other", "the-stat", "the-state2"])
def test_wrong_state(service: LoginService, sent: str | None) -> None:
    with pytest.raises(LoginFailedError, match="does not belong"):
        service.check_pending_login(_pending(), sent)


def test_no_login_in_progress(service: LoginService) -> None:
    with pytest.raises(LoginFailedError, match="No login is in progress"):
        service.check_pending_login(None, "the-state")


def test_stale_state(service: LoginService) -> None:
    old = datetime.now(tz=UTC) - LOGIN_STATE_LIFETIME - timedelta(seconds=1)
    with pytest.raises(LoginFailedError, match="too long"):
        service.check_pending_login(_pending(old), "the-state")
    recent = datetime.now(tz=UTC) - LOGIN_STATE_LIFETIME + timedelta(seconds=5)
    assert service.check_pending_login(_pending(recent), "the-state")


def test_state_from_the_future(service: LoginService) -> None:
    future = datetime.now(tz=UTC) + timedelta(hours=1)
    with pytest.raises(LoginFailedError):
        service.check_pending_login(_pending(future), "the-state")


def _github_user(**kwargs: Any) -> GitHubUserInfo:
    fields: dict[str, Any] = {
        "login": "Alice-Example",
        "id": 4242,
        "name": "Alice",
        "public_email": "public@example.org",
        "emails": [],
        "teams": [],
    }
    fields.update(kwargs)
    return GitHubUserInfo(**fields)


def test_user_from_github(service: LoginService) -> None:
    user = service.user_from_github(
        _github_user(
            teams=[
                GitHubTeam(organization="astro", slug="observers", id=11),
                GitHubTeam(organization="Astro", slug="admins", id=12),
                GitHubTeam(organization="astro", slug="observers", id=11),
            ]
        )
    )
    assert user.username == "alice-example"
    assert user.uid == 4242
    assert user.gid == 4242
    assert user.name == "Alice"
    assert [(g.name, g.id) for g in user.groups] == [
        ("Astro-admins", 12),
        ("astro-observers", 11),
    ]


@pytest.mark.parametrize(
    ("emails", "expected"),
    [
        (
            [
                GitHubEmail(email="other@example.org", primary=False, verified=True),
                GitHubEmail(email="primary@example.org", primary=True, verified=True),
            ],
            "primary@example.org",
        ),
        (
            [GitHubEmail(email="unverified@example.org", primary=True, verified=False)],
            "public@example.org",
        ),
        ([], "public@example.org"),
    ],
)
def test_primary_verified_email(
    service: LoginService, emails: list[GitHubEmail], expected: str
) -> None:
    assert service.user_from_github(_github_user(emails=emails)).email == expected


def test_no_email_at_all(service: LoginService) -> None:
    assert service.user_from_github(_github_user(public_email=None)).email is None


def test_profile_text_is_bounded_and_printable(service: LoginService) -> None:
    user = service.user_from_github(
        _github_user(name="A\x00lice " + "x" * 400, public_email="a\nb@example.org")
    )
    assert user.name is not None
    assert len(user.name) == 256
    assert user.name.startswith("Alice xxx")
    assert user.email == "ab@example.org"
    blank = service.user_from_github(_github_user(name="\x01 ", public_email=None))
    assert blank.name is None


def test_invalid_teams_are_ignored(service: LoginService) -> None:
    user = service.user_from_github(
        _github_user(
            teams=[
                GitHubTeam(organization="astro", slug="ok", id=1),
                GitHubTeam(organization="astro", slug="bad slug", id=2),
                GitHubTeam(organization="astro", slug="huge-id", id=2**40),
            ]
        )
    )
    assert [g.name for g in user.groups] == ["astro-ok"]


@pytest.mark.parametrize("login", ["bot-alice", "Bot-Mallory"])
def test_bot_logins_refused(service: LoginService, login: str) -> None:
    with pytest.raises(LoginFailedError, match="bot-"):
        service.user_from_github(_github_user(login=login))


@pytest.mark.parametrize("login", ["alice_x", "-alice", "a" * 65, ""])
def test_unusable_logins_refused(service: LoginService, login: str) -> None:
    with pytest.raises(LoginFailedError):
        service.user_from_github(_github_user(login=login))


def test_user_id_out_of_range(service: LoginService) -> None:
    with pytest.raises(UpstreamError):
        service.user_from_github(_github_user(id=2**31))
