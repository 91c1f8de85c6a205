"""Child tokens (notebook and internal): found again rather than minted per request.

A child is remembered per (parent, type, service, scopes) in the process
and, encrypted, in Redis for the other processes. It is handed out again
while it has ``minimum_lifetime`` left (or cannot get any better because
it already lives as long as its parent); otherwise a new one is minted,
living ``min(parent expiry, now + notebook_token_lifetime)``.

Reuse is the ingress's hot path and reads no database: the parent's scopes
are re-read in the database (under a share lock) only when a child is
minted. A parent narrowed meanwhile (a change, the group refresh) is
evicted from every process's cache together with the children cached
under it, and a child is reused only while its scopes are those asked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from ..config import Config
from ..exceptions import InputError, InvalidTokenError, PermissionDeniedError
from ..models.token import Token, TokenData
from ..storage.cache import CachedChild, ChildKey, TokenCache
from .validation import TokenValidator

__all__ = ["DEFAULT_MINIMUM_LIFETIME", "ChildTokenProvider", "MintChild"]

DEFAULT_MINIMUM_LIFETIME = timedelta(minutes=5)
"""A known child is reused only with this much life left, unless asked for more."""

MintChild = Callable[[TokenData, ChildKey, datetime, str | None], Awaitable[Token]]
"""Creates a child token: (parent, what, expiry, ip address) -> token."""


class ChildTokenProvider:
    """Finds a live child token or mints one."""

    def __init__(
        self,
        *,
        config: Config,
        cache: TokenCache,
        validator: TokenValidator,
        locks: dict[ChildKey, asyncio.Lock],
        mint: MintChild,
    ) -> None:
        self._lifetime = config.notebook_token_lifetime
        self._cache = cache
        self._validator = validator
        self._locks = locks
        self._mint = mint

    async def get(
        self,
        parent: TokenData,
        key: ChildKey,
        *,
        ip_address: str | None,
        minimum_lifetime: timedelta | None,
    ) -> Token:
        """A child of ``parent`` as described by ``key``.

        Raises
        ------
        InvalidTokenError
            If the parent itself has less than ``minimum_lifetime`` left:
            the user has to log in again.
        """
        if not parent.key or self._validator.is_bootstrap(parent):
            raise PermissionDeniedError("The bootstrap token cannot be delegated")
        now = time.time()
        if minimum_lifetime is not None:
            self._check_minimum(parent, minimum_lifetime, now)
        cap = now + self._lifetime.total_seconds()
        if parent.expires is not None:
            cap = min(cap, parent.expires.timestamp())
        needed = (minimum_lifetime or DEFAULT_MINIMUM_LIFETIME).total_seconds()

        child = await self._reusable(key, now=now, needed=needed, cap=cap)
        if child is not None:
            return child
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                child = await self._reusable(
                    key, now=time.time(), needed=needed, cap=cap
                )
                if child is not None:
                    return child
                generation = self._cache.generation
                expires = datetime.fromtimestamp(cap, tz=UTC)
                token = await self._mint(parent, key, expires, ip_address)
                cached = CachedChild(token, cap)
                self._cache.put_child(key, cached, generation)
                await self._cache.put_shared_child(key, cached)
                return token
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    def _check_minimum(
        self, parent: TokenData, minimum_lifetime: timedelta, now: float
    ) -> None:
        if minimum_lifetime > self._lifetime:
            raise InputError(
                "minimum_lifetime is longer than delegated tokens live"
                f" ({int(self._lifetime.total_seconds())} seconds)",
                field="minimum_lifetime",
            )
        if parent.expires is not None:
            left = parent.expires.timestamp() - now
            if left < minimum_lifetime.total_seconds():
                raise InvalidTokenError(
                    "Your token expires too soon for this service; log in again"
                )

    async def _reusable(
        self, key: ChildKey, *, now: float, needed: float, cap: float
    ) -> Token | None:
        """A known child for ``key``, still valid, with enough life left."""
        generation = self._cache.generation
        cached = self._cache.get_child(key)
        if cached is None:
            shared = await self._cache.get_shared_child(key)
            if shared is not None:
                data = await self._validator.lookup(shared)
                if (
                    data is not None
                    and data.expires is not None
                    and data.scopes == key.scopes
                ):
                    cached = CachedChild(shared, data.expires.timestamp())
                    self._cache.put_child(key, cached, generation)
        if cached is None:
            return None
        if cached.expires_at - now < needed and cached.expires_at < cap:
            return None
        # Confirm it is still valid, with the scopes it was made with (a
        # group refresh may have clipped them): from the cache normally,
        # from the database while the caches are bypassed.
        data = await self._validator.lookup(cached.token)
        if data is None or data.scopes != key.scopes:
            self._cache.evict([cached.token.key])
            return None
        return cached.token
