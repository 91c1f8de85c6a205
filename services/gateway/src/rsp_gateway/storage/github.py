"""GitHub: the OAuth 2 authorization code flow and the user's identity.

Every call to GitHub goes through :class:`GitHubStorage`; its URLs come from
:class:`~rsp_gateway.config.GitHubConfig` so that tests can point them at a
local fake. The OAuth protocol is spoken by authlib's ``AsyncOAuth2Client``
(an ``httpx.AsyncClient``) opened for one login and closed after it. The
access token a login obtains can be used again later to read the user's
identity (:meth:`GitHubStorage.get_user_info_with_token`), which is how
live sessions follow changes of the user's teams.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from ..config import GitHubConfig
from ..exceptions import LoginFailedError, UpstreamCredentialError, UpstreamError
from ..models.github import GitHubEmail, GitHubTeam, GitHubUserInfo

with warnings.catch_warnings():
    # authlib prefers the httpx2 package and warns when it falls back to
    # httpx, which the rest of the gateway uses; the fallback works the same.
    # Its own module sets an "always" filter on import, so it comes first.
    import authlib.deprecate  # noqa: F401

    warnings.filterwarnings("ignore", message=".*httpx module is deprecated.*")
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

__all__ = ["GITHUB_SCOPES", "GitHubLogin", "GitHubStorage"]

GITHUB_SCOPES = "read:org user:email"
"""OAuth scopes the gateway asks GitHub for: teams and email addresses."""

MAX_PAGES = 20
"""Most pages of a listing followed (100 items each) before giving up."""

_API_HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
}

_USER_ERRORS = frozenset({"bad_verification_code", "redirect_uri_mismatch"})
"""Token endpoint errors caused by the login itself rather than by GitHub."""

# authlib's OAuth client is built on httpx2 when that package is installed
# (another service of the workspace may bring it) and on httpx otherwise, so
# the errors of both are caught.
_HTTP_MODULES: list[Any] = [httpx]
if importlib.util.find_spec("httpx2") is not None:
    _HTTP_MODULES.append(importlib.import_module("httpx2"))
_TIMEOUT_ERRORS = tuple(m.TimeoutException for m in _HTTP_MODULES)
_STATUS_ERRORS = tuple(m.HTTPStatusError for m in _HTTP_MODULES)
_HTTP_ERRORS = tuple(m.HTTPError for m in _HTTP_MODULES)


class _UserResponse(BaseModel):
    login: str
    id: int
    name: str | None = None
    email: str | None = None


class _EmailResponse(BaseModel):
    email: str
    primary: bool = False
    verified: bool = False


class _OrganizationResponse(BaseModel):
    login: str


class _TeamResponse(BaseModel):
    id: int
    slug: str
    organization: _OrganizationResponse


@dataclass(frozen=True, slots=True)
class GitHubLogin:
    """What a finished GitHub login yields: who the user is, and the access token."""

    user: GitHubUserInfo
    access_token: SecretStr


class GitHubStorage:
    """Talks to GitHub for one login, or for the refresh of one session.

    Parameters
    ----------
    config
        The GitHub OAuth application and GitHub's URLs.
    redirect_uri
        The gateway's callback URL, registered with the OAuth application.
    """

    def __init__(self, config: GitHubConfig, redirect_uri: str) -> None:
        self._config = config
        self._redirect_uri = redirect_uri
        self._api_url = str(config.api_url).rstrip("/")
        api = urlsplit(self._api_url)
        self._api_origin = (api.scheme, api.netloc)

    async def authorization_url(self, state: str) -> str:
        """The URL of GitHub's consent page for a login with ``state``."""
        async with self._oauth_client() as client:
            url, _ = client.create_authorization_url(
                str(self._config.authorize_url), state=state
            )
        return str(url)

    async def get_user_info(self, code: str) -> GitHubUserInfo:
        """Exchange an authorization ``code`` and read who the user is.

        Raises
        ------
        LoginFailedError
            If GitHub refuses the code (expired, used, or not ours).
        UpstreamError
            If GitHub fails, times out or answers something unexpected.
        """
        return (await self.login(code)).user

    async def login(self, code: str) -> GitHubLogin:
        """Exchange an authorization ``code``: who the user is, and the token.

        Raises
        ------
        LoginFailedError
            If GitHub refuses the code (expired, used, or not ours).
        UpstreamError
            If GitHub fails, times out or answers something unexpected.
        """
        async with self._session(code) as client:
            user = await self._read_user(client)
            access_token = SecretStr(str(client.token["access_token"]))
        return GitHubLogin(user=user, access_token=access_token)

    async def get_user_info_with_token(self, access_token: SecretStr) -> GitHubUserInfo:
        """Read who the user is again, with the access token of their login.

        Raises
        ------
        UpstreamCredentialError
            If GitHub answers 401: the token was revoked (by the user, or
            because the OAuth App lost access) and will never work again.
        UpstreamError
            If GitHub fails, times out or answers something unexpected:
            worth trying again later.
        """
        headers = {"Authorization": f"Bearer {access_token.get_secret_value()}"}
        async with self._guard(), self._api_client(headers) as client:
            try:
                return await self._read_user(client)
            except httpx.HTTPStatusError as e:
                if e.response.status_code == 401:
                    raise UpstreamCredentialError(
                        "GitHub no longer accepts the access token of this session."
                    ) from None
                raise

    async def revoke_token(self, access_token: SecretStr) -> None:
        """Ask GitHub to delete the access token of a login (at logout).

        The OAuth App authenticates with its client ID and secret. A token
        GitHub no longer knows (422 or 404) counts as revoked.

        Raises
        ------
        UpstreamError
            If GitHub fails, times out or refuses the App's credentials.
        """
        url = f"{self._api_url}/applications/{self._config.client_id}/token"
        auth = httpx.BasicAuth(
            self._config.client_id, self._config.client_secret.get_secret_value()
        )
        async with self._guard(), self._api_client({}) as client:
            response = await client.request(
                "DELETE",
                url,
                auth=auth,
                headers=_API_HEADERS,
                json={"access_token": access_token.get_secret_value()},
            )
            if response.status_code in (404, 422):
                return
            response.raise_for_status()

    async def _read_user(self, client: httpx.AsyncClient) -> GitHubUserInfo:
        user = _UserResponse.model_validate(await self._get(client, "/user"))
        emails = [
            _EmailResponse.model_validate(e)
            for e in await self._get_list(client, "/user/emails")
        ]
        teams = [
            _TeamResponse.model_validate(t)
            for t in await self._get_list(client, "/user/teams")
        ]
        return GitHubUserInfo(
            login=user.login,
            id=user.id,
            name=user.name,
            public_email=user.email,
            emails=[GitHubEmail(**e.model_dump()) for e in emails],
            teams=[
                GitHubTeam(organization=t.organization.login, slug=t.slug, id=t.id)
                for t in teams
            ],
        )

    def _oauth_client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self._config.client_id,
            client_secret=self._config.client_secret.get_secret_value(),
            # GitHub documents the client secret as a form parameter.
            token_endpoint_auth_method="client_secret_post",  # noqa: S106
            scope=GITHUB_SCOPES,
            redirect_uri=self._redirect_uri,
            timeout=self._config.timeout.total_seconds(),
            follow_redirects=False,
            trust_env=False,
        )

    def _api_client(self, headers: dict[str, str]) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            headers=headers,
            timeout=self._config.timeout.total_seconds(),
            follow_redirects=False,
            trust_env=False,
        )

    @asynccontextmanager
    async def _session(self, code: str) -> AsyncIterator[AsyncOAuth2Client]:
        """An OAuth client holding the access token for ``code``.

        Every failure of the exchange or of the calls made with the client is
        turned into a gateway error here.
        """
        async with self._guard(), self._oauth_client() as client:
            try:
                await client.fetch_token(
                    str(self._config.token_url),
                    grant_type="authorization_code",
                    code=code,
                )
            except OAuthError as e:
                if e.error in _USER_ERRORS:
                    raise LoginFailedError(
                        "GitHub did not accept the login (the authorization"
                        " code is invalid, expired or already used)."
                        " Please log in again."
                    ) from None
                raise UpstreamError(
                    f"GitHub refused to complete the login ({e.error})."
                ) from None
            yield client

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """Turn every failure of a call to GitHub into a gateway error."""
        try:
            yield
        except _TIMEOUT_ERRORS:
            raise UpstreamError("GitHub did not answer in time.") from None
        except _STATUS_ERRORS as e:
            raise UpstreamError(
                f"GitHub answered with HTTP status {e.response.status_code}."
            ) from None
        except _HTTP_ERRORS as e:
            reason = type(e).__name__
            raise UpstreamError(f"GitHub could not be reached ({reason}).") from None
        except (ValidationError, ValueError, KeyError, TypeError):
            raise UpstreamError("GitHub answered something unexpected.") from None

    async def _get(self, client: httpx.AsyncClient, path: str) -> Any:
        response = await client.get(f"{self._api_url}{path}", headers=_API_HEADERS)
        response.raise_for_status()
        return response.json()

    async def _get_list(self, client: httpx.AsyncClient, path: str) -> list[Any]:
        """GET a listing, following the ``next`` links of its pages."""
        url: str | None = f"{self._api_url}{path}?per_page=100"
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            response = await client.get(url, headers=_API_HEADERS)
            response.raise_for_status()
            page = response.json()
            if not isinstance(page, list):
                raise UpstreamError(f"GitHub answered {path} with no list.")
            items.extend(page)
            url = self._next_page(response)
        if url is not None:
            raise UpstreamError(f"GitHub's listing of {path} has too many pages.")
        return items

    def _next_page(self, response: httpx.Response) -> str | None:
        """The ``rel="next"`` link, only if it stays on GitHub's API host.

        The access token is sent with every page, so a link elsewhere is
        never followed.
        """
        url = response.links.get("next", {}).get("url")
        if not url:
            return None
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._api_origin:
            raise UpstreamError("GitHub's pagination link points to another host.")
        return str(url)
