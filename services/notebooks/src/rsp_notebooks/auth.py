"""JupyterHub authenticator that trusts the platform's gateway, not headers.

The hub's routes (``/nb/hub``) sit behind the ingress with ``exec:notebook``
and ``notebook=true``: every request that reaches the hub through the ingress
carries ``X-Auth-Request-Token``, the user's notebook token, set by the
ingress from the gateway's answer (a client cannot send its own). The hub
still believes nothing from headers alone: it asks the gateway who the token
belongs to (:class:`~rsp_notebooks.gateway.GatewayClient`), so a request
with a forged ``X-Auth-Request-User`` or a made-up token is refused.

- Login (``/nb/hub/login``, automatic) validates the token and keeps it,
  with the user's uid, gid, groups and the token's expiry and scopes, in
  the encrypted ``auth_state`` (``JUPYTERHUB_CRYPT_KEY``).
- Every request through the ingress refreshes that state when the token
  changes (:meth:`GatewayAuthenticator.refresh_user`); a request whose token
  names another user than the hub's cookie forces a new login. An unchanged
  token is asked about again once its last answer is ``cache_seconds`` old,
  so a revoked or expired token ends the hub session within that time even
  if the ingress were to pass it. Before a spawn the state is always
  refreshed, so a lab starts with the current token.
- Admin is the ``admin:jupyterlab`` scope of the token.
- Logout ends the hub's session, then sends the browser to the gateway's
  ``/logout``, which ends the platform session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from jupyterhub.handlers.login import LogoutHandler
from tornado import web
from traitlets import Float, List, Unicode, default

from .gateway import (
    GatewayClient,
    GatewayIdentity,
    GatewayUnavailableError,
    InvalidTokenError,
    token_fingerprint,
)

__all__ = ["GatewayAuthenticator", "GatewayLoginHandler", "GatewayLogoutHandler"]


@dataclass(frozen=True)
class _CheckedToken:
    """The token a hub user was last seen with, and when the gateway said so."""

    fingerprint: str
    checked: float
    """``time.monotonic()`` of the gateway's answer."""
    expires: datetime | None

    def is_current(self, fingerprint: str, max_age: float) -> bool:
        """Whether ``fingerprint`` is this token and its check still holds."""
        if fingerprint != self.fingerprint:
            return False
        if time.monotonic() - self.checked >= max_age:
            return False
        return self.expires is None or self.expires > datetime.now(self.expires.tzinfo)


class GatewayLoginHandler(BaseHandler):  # type: ignore[misc]
    """Logs the user in from the token the ingress passed, then goes on."""

    async def get(self) -> None:
        """Authenticate from the request's headers and set the hub cookie."""
        user = await self.login_user()
        if user is None:
            raise web.HTTPError(
                403, "The platform did not confirm who you are; log in again"
            )
        self.redirect(self.get_next_url(user))


class GatewayLogoutHandler(LogoutHandler):  # type: ignore[misc]
    """Ends the hub session, then the platform session at the gateway."""

    async def render_logout_page(self) -> None:
        """Send the browser to the gateway's logout instead of a hub page."""
        self.redirect(self.authenticator.gateway_logout_url, permanent=False)


class GatewayAuthenticator(Authenticator):  # type: ignore[misc]
    """Authenticate hub users with the notebook token the ingress passes."""

    gateway_url = Unicode(
        "http://127.0.0.1:8001",
        config=True,
        help=(
            "Base URL where the hub reaches the gateway's REST API (inside the"
            " cluster: the gateway Service; locally: the gateway's port)."
        ),
    )
    gateway_logout_url = Unicode(
        "/logout",
        config=True,
        help="Where a hub logout sends the browser: the gateway's /logout.",
    )
    token_header = Unicode(
        "X-Auth-Request-Token",
        config=True,
        help="Header in which the ingress passes the user's notebook token.",
    )
    user_header = Unicode(
        "X-Auth-Request-User",
        config=True,
        help=(
            "Header in which the ingress passes the user name. Never believed on"
            " its own: only a mismatch with the hub's user forces a new login."
        ),
    )
    admin_scope = Unicode(
        "admin:jupyterlab",
        config=True,
        help="Scope that makes a user a hub admin (sees and stops any lab).",
    )
    required_scopes = List(
        Unicode(),
        default_value=["exec:notebook"],
        config=True,
        help="Scopes the token must have to use the hub at all.",
    )
    accepted_token_types = List(
        Unicode(),
        default_value=["notebook"],
        config=True,
        help=(
            "Token types accepted: the ingress passes notebook tokens, so a lab"
            " never receives a more powerful token than a notebook token."
        ),
    )
    cache_seconds = Float(
        30.0,
        config=True,
        help=(
            "Seconds the gateway's answer for one token is reused, never past"
            " the token's expiry: a revoked token keeps working at the hub for"
            " at most this long (the ingress refuses it at once)."
        ),
    )
    gateway_timeout = Float(
        10.0, config=True, help="Seconds for each request to the gateway."
    )

    @default("auto_login")
    def _default_auto_login(self) -> bool:
        return True

    @default("enable_auth_state")
    def _default_enable_auth_state(self) -> bool:
        return True

    @default("refresh_pre_spawn")
    def _default_refresh_pre_spawn(self) -> bool:
        return True

    @default("auth_refresh_age")
    def _default_auth_refresh_age(self) -> int:
        # Each request (at most once a second per user) is compared with the
        # token the ingress passed: cheap unless the token changed.
        return 1

    @default("allow_all")
    def _default_allow_all(self) -> bool:
        # The gateway decides who may enter (exec:notebook at the ingress,
        # required_scopes here); the hub keeps no list of its own.
        return True

    login_service = Unicode("the platform", config=True, help="Name on login pages.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gateway: GatewayClient | None = None
        self._current_tokens: dict[str, _CheckedToken] = {}

    @property
    def gateway(self) -> GatewayClient:
        """The gateway client (made on first use, inside the event loop)."""
        if self._gateway is None:
            self._gateway = GatewayClient(
                self.gateway_url,
                cache_seconds=self.cache_seconds,
                timeout=self.gateway_timeout,
            )
        return self._gateway

    @gateway.setter
    def gateway(self, client: GatewayClient) -> None:
        self._gateway = client

    def get_handlers(
        self,
        app: Any,  # noqa: ARG002 (JupyterHub API)
    ) -> list[tuple[str, type[BaseHandler]]]:
        """Automatic login from headers and logout through the gateway."""
        return [("/login", GatewayLoginHandler), ("/logout", GatewayLogoutHandler)]

    def _header_token(self, handler: Any) -> str | None:
        if handler is None or getattr(handler, "request", None) is None:
            return None
        value = handler.request.headers.get(self.token_header, "").strip()
        return value or None

    async def _identify(self, token: str) -> GatewayIdentity:
        """The token's identity, or an HTTP error the user can act on."""
        try:
            identity = await self.gateway.identify(token)
        except InvalidTokenError:
            raise web.HTTPError(
                401, "Your token is invalid, expired or revoked; log in again"
            ) from None
        except GatewayUnavailableError as e:
            self.log.warning("Cannot validate a token: %s", e)
            raise web.HTTPError(
                503, "The platform's gateway cannot check your login; try later"
            ) from None
        if identity.token_type not in self.accepted_token_types:
            raise web.HTTPError(
                403, f"A {identity.token_type} token cannot be used for the hub"
            )
        missing = sorted(set(self.required_scopes) - identity.scopes)
        if missing:
            raise web.HTTPError(
                403, f"Your token lacks the scopes {', '.join(missing)}"
            )
        return identity

    def _auth_model(self, identity: GatewayIdentity, token: str) -> dict[str, Any]:
        expires = identity.expires.timestamp() if identity.expires else None
        return {
            "name": identity.username,
            "admin": self.admin_scope in identity.scopes,
            "auth_state": {
                "token": token,
                "token_expires": expires,
                "scopes": sorted(identity.scopes),
                "uid": identity.uid,
                "gid": identity.gid,
                "groups": [g.model_dump() for g in identity.groups],
                "full_name": identity.name,
                "email": identity.email,
            },
        }

    async def authenticate(
        self,
        handler: Any,
        data: Any = None,  # noqa: ARG002 (no login form: headers only)
    ) -> dict[str, Any] | None:
        """The user of the token the ingress passed, as the gateway says.

        Raises
        ------
        tornado.web.HTTPError
            401 without a token or with a token the gateway refuses, 403 for a
            token without the needed type or scopes, 503 if the gateway
            cannot be asked.
        """
        token = self._header_token(handler)
        if token is None:
            raise web.HTTPError(
                401, "No token from the platform: open the hub through the platform"
            )
        identity = await self._identify(token)
        self._remember(identity, token)
        return self._auth_model(identity, token)

    def _remember(self, identity: GatewayIdentity, token: str) -> None:
        """Note the user's token and when the gateway last vouched for it."""
        checked = self.gateway.answered_at(token) or time.monotonic()
        self._current_tokens[identity.username] = _CheckedToken(
            token_fingerprint(token), checked, identity.expires
        )

    def _token_to_follow(self, user: Any, handler: Any) -> str | None:
        """The request's token if it speaks for ``user``, else ``None``."""
        token = self._header_token(handler)
        requester = getattr(handler, "_jupyterhub_user", None)
        if requester is not None and getattr(requester, "name", None) != user.name:
            # An admin acting on this user: the request carries the admin's
            # token, which says nothing about this user's.
            return None
        return token

    async def refresh_user(
        self, user: Any, handler: Any = None
    ) -> bool | dict[str, Any]:
        """Follow the ingress's current token for this user.

        ``True`` when nothing changed or there is no token to follow (internal
        API requests, admin actions), the new auth model when the token
        changed, ``False`` when the request's token belongs to someone else or
        is no longer valid: the user must log in again.
        """
        token = self._token_to_follow(user, handler)
        if token is None:
            return True
        fingerprint = token_fingerprint(token)
        known = self._current_tokens.get(user.name)
        if known is not None and known.is_current(fingerprint, self.cache_seconds):
            return True
        try:
            identity = await self._identify(token)
        except web.HTTPError as e:
            # Keep the known state while the gateway is down (503); a refused
            # token (revoked, expired) ends the hub session.
            if e.status_code != 503:
                self._current_tokens.pop(user.name, None)
            return bool(e.status_code == 503)
        if identity.username != user.name:
            # Another platform user in the same browser: the hub cookie is
            # stale. Only the user's own requests can be redirected to login;
            # JupyterHub keeps the state for an admin acting on someone else.
            self.log.warning(
                "Request for hub user %s carries a token of %s",
                user.name,
                identity.username,
            )
            return False
        self._remember(identity, token)
        if known is not None and known.fingerprint == fingerprint:
            return True  # the same token, checked again: nothing to store
        return self._auth_model(identity, token)

    async def pre_spawn_start(self, user: Any, spawner: Any) -> None:
        """Hand the spawner the user's current token and identity."""
        auth_state = await user.get_auth_state()
        if not auth_state:
            raise web.HTTPError(
                403, "The hub has no token for you; log out and log in again"
            )
        hook = getattr(spawner, "set_auth_state", None)
        if hook is not None:
            hook(auth_state)
