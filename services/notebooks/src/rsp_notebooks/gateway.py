"""The gateway as the hub sees it: who a token belongs to and what it may do.

The hub never believes a user name from a header. It asks the gateway's REST
API, with the token the ingress passed (``X-Auth-Request-Token``), for
``/auth/api/v1/user-info`` (username, uid, gid, groups) and
``/auth/api/v1/token-info`` (type, scopes, expiry). Answers are cached
briefly per token (keyed by a hash of it, never the token itself) so a busy
hub does not ask on every request; a revoked token stops working here at the
latest when its cache entry ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "GatewayClient",
    "GatewayError",
    "GatewayGroup",
    "GatewayIdentity",
    "GatewayUnavailableError",
    "InvalidTokenError",
]


class GatewayError(Exception):
    """The gateway refused or could not answer; the message says which."""


class InvalidTokenError(GatewayError):
    """The token is invalid, expired or revoked (the gateway answered 401)."""


class GatewayUnavailableError(GatewayError):
    """The gateway could not be asked or answered something unexpected."""


class GatewayGroup(BaseModel):
    """A group of the user, with its numeric GID."""

    model_config = ConfigDict(frozen=True)

    name: str
    id: int


class GatewayIdentity(BaseModel):
    """Who a token belongs to and what it carries."""

    model_config = ConfigDict(frozen=True)

    username: Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9]|-[a-z0-9])*$")]
    name: str | None = None
    email: str | None = None
    uid: int | None = None
    gid: int | None = None
    groups: tuple[GatewayGroup, ...] = ()
    token_type: str
    scopes: frozenset[str]
    expires: datetime | None = None

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        """Whether the token ends within ``seconds`` from ``now``."""
        if self.expires is None:
            return False
        now = now or datetime.now(UTC)
        return (self.expires - now).total_seconds() < seconds


def token_fingerprint(token: str) -> str:
    """A stable, non-reversible name for a token (cache keys, comparisons)."""
    return hashlib.sha256(token.encode()).hexdigest()


class GatewayClient:
    """Asks the gateway who a token belongs to, with a short cache.

    Parameters
    ----------
    base_url
        Where the hub reaches the gateway (inside the cluster, or
        ``http://127.0.0.1:8001`` locally).
    cache_seconds
        How long an answer is reused for the same token.
    timeout
        Seconds for each request to the gateway.
    transport
        HTTP transport (tests use an in-process ASGI transport).
    """

    def __init__(
        self,
        base_url: str,
        *,
        cache_seconds: float = 30.0,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._cache_seconds = cache_seconds
        # fingerprint -> (time.monotonic() of the gateway's answer, identity)
        self._cache: dict[str, tuple[float, GatewayIdentity]] = {}
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    def forget(self, token: str) -> None:
        """Drop a token's cached answer (after the user logged out)."""
        self._cache.pop(token_fingerprint(token), None)

    async def identify(self, token: str) -> GatewayIdentity:
        """The identity of a token, from the cache or the gateway.

        Raises
        ------
        InvalidTokenError
            If the gateway says the token is invalid, expired or revoked.
        GatewayUnavailableError
            If the gateway cannot be reached or answers oddly.
        """
        key = token_fingerprint(token)
        cached = self._fresh(key)
        if cached is not None:
            return cached[1]
        identity = await self._ask(token)
        now = time.monotonic()
        if len(self._cache) > 10_000:
            oldest = now - self._cache_seconds
            self._cache = {k: v for k, v in self._cache.items() if v[0] > oldest}
        self._cache[key] = (now, identity)
        return identity

    def answered_at(self, token: str) -> float | None:
        """``time.monotonic()`` of the reusable answer for ``token``, if any."""
        cached = self._fresh(token_fingerprint(token))
        return None if cached is None else cached[0]

    def _fresh(self, key: str) -> tuple[float, GatewayIdentity] | None:
        """The cached answer for a fingerprint, unless too old or expired."""
        cached = self._cache.get(key)
        if cached is None or time.monotonic() - cached[0] >= self._cache_seconds:
            return None
        if cached[1].expires_within(0):
            return None
        return cached

    async def revoke(self, token: str, username: str) -> None:
        """Revoke a token with itself (a lab's notebook token when it stops).

        Raises
        ------
        GatewayUnavailableError
            If the gateway cannot be reached or refuses.
        """
        self.forget(token)
        key = token.removeprefix("gt-").partition(".")[0]
        url = f"{self._base}/auth/api/v1/users/{username}/tokens/{key}"
        try:
            response = await self._client.delete(
                url, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as e:
            raise GatewayUnavailableError(
                f"The gateway at {self._base} cannot be reached: {type(e).__name__}"
            ) from e
        if response.status_code not in (204, 401, 404):
            raise GatewayUnavailableError(
                f"The gateway answered {response.status_code} to a revocation"
            )

    async def _get(self, token: str, path: str) -> dict[str, Any]:
        url = f"{self._base}/auth/api/v1/{path}"
        try:
            response = await self._client.get(
                url, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as e:
            raise GatewayUnavailableError(
                f"The gateway at {self._base} cannot be reached: {type(e).__name__}"
            ) from e
        if response.status_code in (401, 403):
            raise InvalidTokenError("Token is invalid, expired or revoked")
        if response.status_code != 200:
            raise GatewayUnavailableError(
                f"The gateway answered {response.status_code} for {path}"
            )
        try:
            data = response.json()
        except ValueError as e:
            raise GatewayUnavailableError(f"The gateway's {path} is not JSON") from e
        if not isinstance(data, dict):
            raise GatewayUnavailableError(f"The gateway's {path} is not an object")
        return data

    async def _ask(self, token: str) -> GatewayIdentity:
        user_info, token_info = await asyncio.gather(
            self._get(token, "user-info"), self._get(token, "token-info")
        )
        if user_info.get("username") != token_info.get("username"):
            raise GatewayUnavailableError("The gateway's answers name different users")
        try:
            return GatewayIdentity(
                username=user_info.get("username", ""),
                name=user_info.get("name"),
                email=user_info.get("email"),
                uid=user_info.get("uid"),
                gid=user_info.get("gid"),
                groups=tuple(user_info.get("groups") or ()),
                token_type=token_info.get("token_type", ""),
                scopes=frozenset(token_info.get("scopes") or ()),
                expires=token_info.get("expires"),
            )
        except ValidationError as e:
            raise GatewayUnavailableError(
                f"The gateway's user-info cannot be used: {e.error_count()} problems"
            ) from e
