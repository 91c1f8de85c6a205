"""An async client of the gateway's token API (``/auth/api/v1``).

The operator creates, checks and revokes service tokens with it. Creation
and revocation authenticate with the operator's admin token (``admin:token``);
a token is checked by presenting it to ``token-info`` itself, which proves
that the secret in the Secret still works, not only that the key exists.

Token secrets are never logged and never appear in error messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from .errors import GatewayRefusedError, GatewayUnavailableError
from .models import ServiceTokenRequest, TokenInfo, token_key

__all__ = ["API_PATH", "GatewayClient"]

API_PATH = "/auth/api/v1"
"""Where the gateway's token API lives."""


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(response: httpx.Response) -> str:
    """The gateway's explanation of an error response, for a person to read."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        messages = [str(d.get("msg")) for d in detail if isinstance(d, dict)]
        if messages:
            return "; ".join(messages)
    if isinstance(detail, str):
        return detail
    return response.reason_phrase or f"HTTP {response.status_code}"


class GatewayClient:
    """The gateway's token API, for service tokens.

    Parameters
    ----------
    http
        The HTTP client (its lifetime belongs to the caller).
    base_url
        The gateway, ``scheme://host[:port]`` (the API is under ``/auth/api/v1``).
    admin_token
        A token with ``admin:token``, or `None` if none is configured (then
        creating and revoking tokens fails with a clear error).
    """

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, admin_token: SecretStr | None
    ) -> None:
        self._http = http
        self._api = base_url.rstrip("/") + API_PATH
        self._admin_token = admin_token

    @property
    def url(self) -> str:
        """URL of the token API (for messages)."""
        return self._api

    async def create_service_token(
        self, username: str, scopes: list[str], expires: datetime | None
    ) -> str:
        """Create a service token for the ``bot-*`` user ``username``.

        Returns
        -------
        str
            The new token (``gt-<key>.<secret>``); shown only this once.

        Raises
        ------
        GatewayRefusedError
            If the gateway refused (bad admin token, unknown scope, ...).
        GatewayUnavailableError
            If the gateway could not be reached or failed.
        """
        request = ServiceTokenRequest(
            username=username,
            scopes=scopes,
            expires=int(expires.timestamp()) if expires is not None else None,
        )
        response = await self._call(
            "POST",
            "/tokens",
            headers=self._admin_headers(),
            json=request.model_dump(exclude_none=True),
            action=f"create a token for {username}",
        )
        if response.status_code != httpx.codes.CREATED:
            raise self._refusal(response, f"create a token for {username}")
        token = response.json().get("token") if self._is_json(response) else None
        if not isinstance(token, str) or token_key(token) is None:
            raise GatewayUnavailableError(
                f"The gateway at {self._api} answered a token creation without a token"
            )
        return token

    async def token_info(self, token: str) -> TokenInfo | None:
        """The metadata of ``token``, or `None` if the gateway refuses it.

        A token that is revoked, expired or unknown is refused with 401.

        Raises
        ------
        GatewayRefusedError
            If the gateway answered anything but 200 or 401.
        GatewayUnavailableError
            If the gateway could not be reached or failed.
        """
        response = await self._call(
            "GET", "/token-info", headers=_bearer(token), action="check a token"
        )
        if response.status_code == httpx.codes.UNAUTHORIZED:
            return None
        if response.status_code != httpx.codes.OK:
            raise self._refusal(response, "check a token")
        try:
            return TokenInfo.model_validate_json(response.content)
        except ValidationError:
            raise GatewayUnavailableError(
                f"The gateway at {self._api} answered token-info with an unknown shape"
            ) from None

    async def revoke_token(self, username: str, key: str) -> bool:
        """Revoke the token ``key`` of ``username`` (and its children).

        Returns
        -------
        bool
            `True` if it was revoked now, `False` if the gateway had no such
            token (already revoked or expired).

        Raises
        ------
        GatewayRefusedError
            If the gateway refused (bad admin token, ...).
        GatewayUnavailableError
            If the gateway could not be reached or failed.
        """
        path = f"/users/{quote(username, safe='')}/tokens/{quote(key, safe='')}"
        action = f"revoke token {key} of {username}"
        response = await self._call(
            "DELETE", path, headers=self._admin_headers(), action=action
        )
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        if response.status_code != httpx.codes.NO_CONTENT:
            raise self._refusal(response, action)
        return True

    def _admin_headers(self) -> dict[str, str]:
        if self._admin_token is None:
            raise GatewayRefusedError(
                "No admin token is configured (admin_token, a token with"
                " admin:token from the operator's Secret)",
                status_code=0,
            )
        return _bearer(self._admin_token.get_secret_value())

    async def _call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        action: str,
        json: dict[str, Any] | None = None,
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, self._api + path, headers=headers, json=json
            )
        except httpx.HTTPError as e:
            # The exception's text names the URL, never the headers.
            raise GatewayUnavailableError(
                f"Cannot reach the gateway at {self._api} to {action}:"
                f" {type(e).__name__} {e}".rstrip(": ")
            ) from None
        if response.status_code >= httpx.codes.INTERNAL_SERVER_ERROR:
            raise GatewayUnavailableError(
                f"The gateway failed to {action}: HTTP {response.status_code}"
                f" {_problem(response)}"
            )
        return response

    @staticmethod
    def _is_json(response: httpx.Response) -> bool:
        content_type = str(response.headers.get("content-type", ""))
        return content_type.startswith("application/json")

    @staticmethod
    def _refusal(response: httpx.Response, action: str) -> GatewayRefusedError:
        return GatewayRefusedError(
            f"The gateway refused to {action}: HTTP {response.status_code}"
            f" {_problem(response)}",
            status_code=response.status_code,
        )
