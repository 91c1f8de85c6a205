"""Browser login and logout: GitHub or the development provider to a session.

The login in progress lives in the encrypted session cookie: a random
``state`` bound to that browser, the return URL and when it began. The
callback must bring the same ``state`` back within
`LOGIN_STATE_LIFETIME`; the state is consumed by the callback whatever its
outcome, so it can never be replayed. Both identity providers end in
:meth:`LoginService.create_session`, which maps groups to scopes and issues
the session token.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from structlog.stdlib import BoundLogger

from ..config import Config
from ..exceptions import (
    LoginFailedError,
    NoScopesError,
    UpstreamError,
)
from ..models.github import GitHubUserInfo
from ..models.login import LoginConfig, LoginResponse, ScopeDescription
from ..models.session import SessionState
from ..models.token import Token, TokenData, TokenType
from ..models.userinfo import UserInfo
from ..storage.github import GitHubStorage
from .dev_login import DevLoginForm, parse_dev_login_form
from .github_identity import scopes_for, user_from_github
from .return_url import validate_return_url
from .token import TokenService

__all__ = [
    "LOGIN_STATE_LIFETIME",
    "LoginInfo",
    "LoginService",
    "PendingLogin",
    "Session",
]

LOGIN_STATE_LIFETIME = timedelta(minutes=10)
"""How long a browser has to come back from GitHub."""

_CLOCK_SKEW = timedelta(minutes=1)
_ERROR_CODE_RE = re.compile(r"^[a-z_]{1,64}$")


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """A login that this browser started and has not finished."""

    state: str
    return_url: str
    started: datetime


@dataclass(frozen=True, slots=True)
class Session:
    """A new browser session: what to put in the cookie and where to go."""

    state: SessionState
    expires: datetime
    return_url: str


@dataclass(frozen=True, slots=True)
class LoginInfo:
    """Answer of ``GET /auth/api/v1/login`` and the cookie state behind it."""

    response: LoginResponse
    state: SessionState
    expires: datetime | None
    changed: bool
    """Whether ``state`` differs from the cookie (a CSRF token was added)."""


def _now() -> datetime:
    return datetime.now(tz=UTC)


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class LoginService:
    """Turns a browser's proof of identity into a session, and ends sessions.

    Parameters
    ----------
    config
        The gateway's configuration (base URL, group mapping, lifetimes).
    token_service
        Issues, validates and revokes the session token.
    github
        GitHub, or `None` when GitHub login is not configured.
    logger
        Logger bound to the request.
    """

    def __init__(
        self,
        *,
        config: Config,
        token_service: TokenService,
        github: GitHubStorage | None,
        logger: BoundLogger,
    ) -> None:
        self._config = config
        self._tokens = token_service
        self._github = github
        self._logger = logger

    def return_url(self, rd: str | None) -> str:
        """Validate a return URL (see `validate_return_url`), made absolute."""
        return validate_return_url(rd, self._config.origin)

    async def current_session(self, state: SessionState) -> TokenData | None:
        """The valid session token held in the cookie, if any."""
        if not state.token or not Token.is_token(state.token):
            return None
        data = await self._tokens.validate(Token.from_str(state.token))
        if data is None or data.token_type != TokenType.session:
            return None
        return data

    def begin_login(self, return_url: str) -> SessionState:
        """Start a login: a fresh cookie state with a new random ``state``.

        Any earlier session in the cookie is dropped.
        """
        return SessionState(
            login_state=_new_secret(), return_url=return_url, login_started=_now()
        )

    async def github_authorization_url(self, state: SessionState) -> str:
        """Where to send the browser to ask GitHub for consent."""
        if not state.login_state:
            raise LoginFailedError("No login is in progress.")
        return await self._require_github().authorization_url(state.login_state)

    @staticmethod
    def take_pending_login(
        state: SessionState,
    ) -> tuple[PendingLogin | None, SessionState]:
        """Split the cookie into the login in progress and what remains.

        The remaining state has no login in progress: the caller stores it so
        that the ``state`` is consumed whatever happens next.
        """
        remaining = state.model_copy(
            update={"login_state": None, "return_url": None, "login_started": None}
        )
        if not (state.login_state and state.return_url and state.login_started):
            return None, remaining
        pending = PendingLogin(
            state=state.login_state,
            return_url=state.return_url,
            started=state.login_started,
        )
        return pending, remaining

    def check_pending_login(
        self, pending: PendingLogin | None, sent_state: str | None
    ) -> str:
        """Check that a callback belongs to the login this browser started.

        Returns
        -------
        str
            The validated return URL of the login.

        Raises
        ------
        LoginFailedError
            If no login is in progress in this browser, the ``state`` differs
            (compared in constant time) or the login is too old.
        """
        if pending is None:
            raise LoginFailedError(
                "No login is in progress in this browser (its login cookie is"
                " missing, expired or was already used). Please log in again."
            )
        sent = (sent_state or "").encode()
        if not hmac.compare_digest(sent, pending.state.encode()):
            self._logger.warning("Login state mismatch")
            raise LoginFailedError(
                "This login response does not belong to the login started in this"
                " browser. Please log in again."
            )
        started = pending.started
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        age = _now() - started
        if age > LOGIN_STATE_LIFETIME or age < -_CLOCK_SKEW:
            raise LoginFailedError("The login took too long. Please log in again.")
        return self.return_url(pending.return_url)

    async def finish_github_login(
        self,
        pending: PendingLogin | None,
        *,
        sent_state: str | None,
        code: str | None,
        error: str | None,
        ip_address: str | None,
    ) -> Session:
        """Complete a GitHub login from its callback.

        Raises
        ------
        LoginFailedError
            Bad, replayed or stale ``state``; the user refused consent;
            GitHub refused the code; the GitHub account cannot be a user here.
        NoScopesError
            None of the user's teams grants a scope.
        UpstreamError
            GitHub failed or could not be reached.
        """
        return_url = self.check_pending_login(pending, sent_state)
        github = self._require_github()
        if error:
            if error == "access_denied":
                raise LoginFailedError(
                    "You did not allow this platform to read your GitHub identity,"
                    " so you are not logged in."
                )
            code_name = error if _ERROR_CODE_RE.match(error) else "unknown"
            raise LoginFailedError(f"GitHub refused the login ({code_name}).")
        if not code:
            raise LoginFailedError("GitHub sent no authorization code.")
        login = await github.login(code)
        user = self.user_from_github(login.user)
        # The GitHub token is kept only if it will be used, to refresh groups.
        keep = self._config.group_refresh_interval > timedelta(0)
        return await self.create_session(
            user,
            return_url,
            ip_address=ip_address,
            github_token=login.access_token if keep else None,
        )

    async def finish_dev_login(
        self,
        pending: PendingLogin | None,
        *,
        sent_state: str | None,
        form: DevLoginForm,
        ip_address: str | None,
    ) -> Session:
        """Complete a login through the development identity provider.

        Raises
        ------
        LoginFailedError
            The provider is disabled, or the form's ``state`` is not this
            browser's (the cross-site request check) or is too old.
        LoginFormError
            A field is invalid; nothing is consumed, the form can be resent.
        NoScopesError
            None of the groups grants a scope.
        """
        if not self._config.dev_login:
            raise LoginFailedError("The development login is not enabled.")
        return_url = self.check_pending_login(pending, sent_state)
        user = parse_dev_login_form(form)
        return await self.create_session(user, return_url, ip_address=ip_address)

    def user_from_github(self, info: GitHubUserInfo) -> UserInfo:
        """The platform's user for a GitHub account (see `user_from_github`)."""
        return user_from_github(info, self._logger)

    def scopes_for(self, groups: Iterable[str]) -> list[str]:
        """Every scope whose mapped groups include one of ``groups``, sorted."""
        return scopes_for(self._config.group_mapping, groups)

    async def create_session(
        self,
        user: UserInfo,
        return_url: str,
        *,
        ip_address: str | None,
        github_token: SecretStr | None = None,
    ) -> Session:
        """Issue the session token of a user who proved who they are.

        ``github_token`` (GitHub logins) is kept, encrypted, with the session
        so that its groups and scopes can be refreshed.

        Raises
        ------
        NoScopesError
            If none of the user's groups grants a scope: no token is issued.
        """
        groups = [g.name for g in user.groups]
        scopes = self.scopes_for(groups)
        if not scopes:
            self._logger.info("Login refused: no scope", user=user.username)
            raise NoScopesError(
                "None of your groups grants access to this platform.",
                username=user.username,
                groups=groups,
            )
        token = await self._tokens.create_session_token(
            user, scopes, ip_address=ip_address, github_token=github_token
        )
        data = await self._tokens.validate(token)
        if data is not None and data.expires is not None:
            expires = data.expires
        else:
            expires = _now() + self._config.session_lifetime
        self._logger.info(
            "Logged in", user=user.username, token=token.key, scopes=scopes
        )
        state = SessionState(token=str(token), csrf=_new_secret())
        return Session(state=state, expires=expires, return_url=return_url)

    async def logout(self, state: SessionState, *, ip_address: str | None) -> None:
        """Revoke the cookie's session token (and its children), if valid."""
        data = await self.current_session(state)
        if data is None:
            return
        github_token = await self._tokens.revoke_session(data, ip_address=ip_address)
        self._logger.info("Logged out", user=data.username, token=data.key)
        if github_token is not None and self._github is not None:
            # The GitHub token served only this session (its group refresh);
            # a failure here must not undo or fail the logout itself.
            try:
                await self._github.revoke_token(github_token)
            except UpstreamError as e:
                self._logger.warning(
                    "Could not revoke the session's GitHub token",
                    user=data.username,
                    token=data.key,
                    error=e.message,
                )

    async def login_info(self, state: SessionState) -> LoginInfo | None:
        """Who the cookie's session belongs to, with its CSRF token.

        A CSRF token is added to the state if it has none. `None` if the
        cookie holds no valid session.
        """
        data = await self.current_session(state)
        if data is None:
            return None
        changed = not state.csrf
        if changed:
            state = state.model_copy(update={"csrf": _new_secret()})
        assert state.csrf is not None
        known = self._config.known_scopes
        response = LoginResponse(
            csrf=state.csrf,
            username=data.username,
            scopes=sorted(data.scopes),
            config=LoginConfig(
                scopes=[
                    ScopeDescription(name=name, description=description)
                    for name, description in sorted(known.items())
                ]
            ),
        )
        return LoginInfo(
            response=response, state=state, expires=data.expires, changed=changed
        )

    def _require_github(self) -> GitHubStorage:
        if self._github is None:
            raise LoginFailedError("GitHub login is not configured.")
        return self._github
