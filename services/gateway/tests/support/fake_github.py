"""A fake GitHub for the gateway's tests, served on a real loopback port.

It speaks the parts of GitHub the gateway uses, as GitHub documents them:

- ``GET /login/oauth/authorize`` approves at once (or denies, when told to)
  by redirecting to ``redirect_uri`` with ``code`` and ``state`` (or
  ``error=access_denied``), for the user set with :meth:`FakeGitHub.login_as`;
- ``POST /login/oauth/access_token`` exchanges a code once, answering JSON
  with ``Accept: application/json`` and a form-encoded body otherwise; errors
  (``incorrect_client_credentials``, ``bad_verification_code``,
  ``redirect_uri_mismatch``) come with status 200, as GitHub sends them;
- ``GET /user``, ``/user/emails`` and ``/user/teams`` need the access token
  (``Authorization: Bearer`` or ``token``); the listings are paginated with
  ``page``/``per_page`` and a ``Link`` header (``rel="next"`` and friends).

The same app serves both the OAuth and the API URLs; :meth:`github_config`
points a :class:`~rsp_gateway.config.GitHubConfig` at it. Failures can be
switched on per test: denied consent, a failing or slow token endpoint, a
failing or slow API, access tokens revoked by the user. A user's teams,
name and emails can be changed between calls (the users are mutable).

Fixtures: ``fake_github_server`` (one server per test session) and
``fake_github`` (the same server, reset for each test).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlencode

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import AnyHttpUrl, SecretStr
from rsp_gateway.config import GitHubConfig

__all__ = [
    "FakeGitHub",
    "FakeGitHubTeam",
    "FakeGitHubUser",
    "TokenFailure",
    "fake_github",
    "fake_github_server",
]

TokenFailure = Literal["server-error", "slow", "not-json"]
"""Ways the token endpoint can be told to fail."""


@dataclass
class FakeGitHubTeam:
    """A team of an organisation."""

    organization: str
    slug: str
    id: int

    def to_json(self) -> dict[str, Any]:
        """The team as ``GET /user/teams`` lists it."""
        return {
            "id": self.id,
            "node_id": f"T_{self.id}",
            "name": self.slug.replace("-", " ").title(),
            "slug": self.slug,
            "description": None,
            "privacy": "closed",
            "permission": "pull",
            "organization": {
                "login": self.organization,
                "id": zlib.crc32(self.organization.encode()) % 10_000_000 + 1,
                "description": None,
            },
            "parent": None,
        }


@dataclass
class FakeGitHubUser:
    """A GitHub account: profile, email addresses and teams."""

    login: str
    id: int
    name: str | None = None
    email: str | None = None
    """Public email of the profile."""
    emails: list[dict[str, Any]] = field(default_factory=list)
    """As ``GET /user/emails`` lists them: email, primary, verified, visibility."""
    teams: list[FakeGitHubTeam] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The user as ``GET /user`` answers."""
        return {
            "login": self.login,
            "id": self.id,
            "node_id": f"U_{self.id}",
            "type": "User",
            "site_admin": False,
            "name": self.name,
            "company": None,
            "email": self.email,
        }


@dataclass
class _Grant:
    login: str
    redirect_uri: str
    used: bool = False


class FakeGitHub:
    """GitHub's OAuth and REST endpoints with users configured by the test."""

    def __init__(
        self, client_id: str = "fake-client-id", client_secret: str = "fake-secret"
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_url = ""
        self.app = self._build_app()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every user, grant and failure (between tests)."""
        self.users: dict[str, FakeGitHubUser] = {}
        self.current_login: str | None = None
        self.deny = False
        self.token_failure: TokenFailure | None = None
        self.api_failure: int | None = None
        self.api_delay = 0.0
        self.slow_seconds = 2.0
        self.page_size = 2
        self.link_base_url: str | None = None
        self.grants: dict[str, _Grant] = {}
        self.tokens: dict[str, str] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.api_requests: list[str] = []
        self.deleted_tokens: list[str] = []
        self.delete_failure: int | None = None

    # Configuration by tests.

    def add_user(self, user: FakeGitHubUser) -> FakeGitHubUser:
        """Create an account; the first one added is also logged in."""
        self.users[user.login] = user
        if self.current_login is None:
            self.current_login = user.login
        return user

    def login_as(self, login: str) -> None:
        """Make ``login`` the account that approves the next authorization."""
        if login not in self.users:
            raise KeyError(login)
        self.current_login = login

    def revoke_tokens(self, login: str) -> None:
        """Revoke every access token of ``login`` (the API then answers 401)."""
        self.tokens = {t: who for t, who in self.tokens.items() if who != login}

    def github_config(self, timeout: timedelta = timedelta(seconds=5)) -> GitHubConfig:
        """A configuration of the gateway that points at this fake."""
        return GitHubConfig(
            client_id=self.client_id,
            client_secret=SecretStr(self.client_secret),
            authorize_url=AnyHttpUrl(f"{self.base_url}/login/oauth/authorize"),
            token_url=AnyHttpUrl(f"{self.base_url}/login/oauth/access_token"),
            api_url=AnyHttpUrl(self.base_url),
            timeout=timeout,
        )

    # The server.

    def start(self) -> None:
        """Serve the fake on a free loopback port in a background thread."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="fake-github",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake GitHub did not start")
            time.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # The endpoints.

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Fake GitHub", openapi_url=None)
        app.add_api_route("/login/oauth/authorize", self._authorize, methods=["GET"])
        app.add_api_route(
            "/login/oauth/access_token", self._access_token, methods=["POST"]
        )
        app.add_api_route("/user", self._user, methods=["GET"])
        app.add_api_route("/user/emails", self._user_emails, methods=["GET"])
        app.add_api_route("/user/teams", self._user_teams, methods=["GET"])
        app.add_api_route(
            "/applications/{client_id}/token", self._delete_token, methods=["DELETE"]
        )
        return app

    async def _authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_requests.append(params)
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or not redirect_uri:
            return Response("Unknown OAuth application", status_code=404)
        state = params.get("state", "")
        if self.deny:
            query = {
                "error": "access_denied",
                "error_description": "The user has denied your application access.",
                "error_uri": "https://docs.github.com/apps/troubleshooting",
                "state": state,
            }
            return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", 302)
        if self.current_login is None:
            return Response("Nobody is logged in to the fake GitHub", status_code=400)
        code = secrets.token_hex(10)
        self.grants[code] = _Grant(login=self.current_login, redirect_uri=redirect_uri)
        query = {"code": code, "state": state}
        return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", 302)

    async def _access_token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        accept = request.headers.get("accept", "")
        if self.token_failure == "server-error":
            return Response("<html>Unicorn!</html>", status_code=503)
        if self.token_failure == "slow":
            await asyncio.sleep(self.slow_seconds)
        if self.token_failure == "not-json":
            return Response("<html>Rate limited</html>", media_type="text/html")
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return self._token_answer(
                accept,
                {
                    "error": "incorrect_client_credentials",
                    "error_description": "The client_id and/or client_secret"
                    " passed are incorrect.",
                },
            )
        grant = self.grants.get(form.get("code", ""))
        if grant is None or grant.used:
            return self._token_answer(
                accept,
                {
                    "error": "bad_verification_code",
                    "error_description": "The code passed is incorrect or expired.",
                },
            )
        grant.used = True
        if form.get("redirect_uri") and form["redirect_uri"] != grant.redirect_uri:
            return self._token_answer(
                accept,
                {
                    "error": "redirect_uri_mismatch",
                    "error_description": "The redirect_uri MUST match the"
                    " registered callback URL for this application.",
                },
            )
        token = "gho_" + secrets.token_urlsafe(27)
        self.tokens[token] = grant.login
        return self._token_answer(
            accept,
            {
                "access_token": token,
                "scope": "read:org,user:email",
                "token_type": "bearer",
            },
        )

    @staticmethod
    def _token_answer(accept: str, body: dict[str, str]) -> Response:
        if "application/json" in accept:
            return JSONResponse(body)
        if "application/xml" in accept:
            items = "".join(f"<{k}>{v}</{k}>" for k, v in body.items())
            return Response(f"<OAuth>{items}</OAuth>", media_type="application/xml")
        return Response(urlencode(body), media_type="application/x-www-form-urlencoded")

    async def _delete_token(self, client_id: str, request: Request) -> Response:
        """``DELETE /applications/{client_id}/token``: the App revokes a token.

        GitHub wants the App's client ID and secret as Basic auth and the
        token in a JSON body; 204 when deleted, 422 for a token it does not
        know, 404 for another App.
        """
        self.api_requests.append(request.url.path)
        if self.delete_failure is not None:
            return JSONResponse({"message": "Server Error"}, self.delete_failure)
        expected = base64.b64encode(
            f"{self.client_id}:{self.client_secret}".encode()
        ).decode()
        given = request.headers.get("authorization", "")
        if client_id != self.client_id or not secrets.compare_digest(
            given, f"Basic {expected}"
        ):
            return JSONResponse({"message": "Not Found"}, 404)
        body = await request.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or token not in self.tokens:
            return JSONResponse({"message": "Validation Failed"}, 422)
        del self.tokens[token]
        self.deleted_tokens.append(token)
        return Response(status_code=204)

    async def _authenticated_user(self, request: Request) -> FakeGitHubUser | Response:
        self.api_requests.append(request.url.path)
        if self.api_delay:
            await asyncio.sleep(self.api_delay)
        if self.api_failure is not None:
            return JSONResponse(
                {"message": "Server Error"}, status_code=self.api_failure
            )
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not token:
            return JSONResponse({"message": "Requires authentication"}, 401)
        login = (
            self.tokens.get(token) if scheme.lower() in ("bearer", "token") else None
        )
        if login is None or login not in self.users:
            return JSONResponse({"message": "Bad credentials"}, 401)
        return self.users[login]

    async def _user(self, request: Request) -> Response:
        user = await self._authenticated_user(request)
        if isinstance(user, Response):
            return user
        return JSONResponse(user.to_json())

    async def _user_emails(self, request: Request) -> Response:
        user = await self._authenticated_user(request)
        if isinstance(user, Response):
            return user
        return self._paginated(request, user.emails)

    async def _user_teams(self, request: Request) -> Response:
        user = await self._authenticated_user(request)
        if isinstance(user, Response):
            return user
        return self._paginated(request, [t.to_json() for t in user.teams])

    def _paginated(self, request: Request, items: list[dict[str, Any]]) -> Response:
        """One page of a listing, with GitHub's ``Link`` header."""
        try:
            page = max(1, int(request.query_params.get("page", "1")))
            asked = int(request.query_params.get("per_page", "30"))
        except ValueError:
            return JSONResponse({"message": "Invalid pagination"}, 422)
        per_page = max(1, min(asked, 100, self.page_size))
        last = max(1, -(-len(items) // per_page))
        start = (page - 1) * per_page
        headers = {}
        links = []

        def link(number: int, rel: str) -> str:
            url = str(request.url.include_query_params(page=number, per_page=asked))
            if self.link_base_url:
                url = url.replace(self.base_url, self.link_base_url, 1)
            return f'<{url}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        if links:
            headers["Link"] = ", ".join(links)
        return JSONResponse(items[start : start + per_page], headers=headers)


@pytest.fixture(scope="session")
def fake_github_server() -> Iterator[FakeGitHub]:
    """The fake GitHub, started once for the test session."""
    github = FakeGitHub()
    github.start()
    yield github
    github.stop()


@pytest.fixture
def fake_github(fake_github_server: FakeGitHub) -> Iterator[FakeGitHub]:
    """The fake GitHub with no users, grants or failures: configure it per test."""
    fake_github_server.reset()
    yield fake_github_server
    fake_github_server.reset()
