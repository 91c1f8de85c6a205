"""The in-process token cache, in front of the shared Redis cache.

Two maps live in each process:

- token key -> (keyed hash of the secret, :class:`TokenData`), with a TTL,
  so that validation is a dictionary lookup plus one HMAC;
- (parent key, type, service, scopes) -> a live child token, so that a
  delegated ingress call does not reach the database.

A revocation or change evicts the keys here, in Redis, and (through the
:class:`~rsp_gateway.storage.fanout.TokenEventChannel`) in every other
process. While that channel is down, this cache is bypassed: answers come
from the database until the subscription is back, so nothing stale is
served. A generation counter stops an answer read before an eviction from
being cached after it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..models.token import Token, TokenData
from .fanout import TokenEventChannel

__all__ = ["CachedChild", "CachedToken", "ChildKey", "TokenCache"]


@dataclass(slots=True)
class CachedToken:
    """What validation needs about one token; ``data`` `None` means invalid."""

    secret_hash: str
    data: TokenData | None
    expires_at: float | None
    stored_at: float


@dataclass(frozen=True, slots=True)
class ChildKey:
    """What makes two child tokens interchangeable."""

    parent: str
    token_type: str
    service: str | None
    scopes: frozenset[str]


@dataclass(slots=True)
class CachedChild:
    """A live child token and when it expires (Unix seconds)."""

    token: Token
    expires_at: float


class TokenCache:
    """Process-local token and child caches, fronting Redis when configured."""

    def __init__(
        self,
        ttl: float,
        *,
        channel: TokenEventChannel | None = None,
        max_entries: int = 100_000,
    ) -> None:
        self._ttl = ttl
        self._channel = channel
        self._max = max_entries
        self._tokens: dict[str, CachedToken] = {}
        self._children: dict[ChildKey, CachedChild] = {}
        self._child_index: dict[str, set[ChildKey]] = {}
        self._generation = 0
        if channel is not None:
            channel.on_evict = self.evict
            channel.on_resync = self.clear

    @property
    def channel(self) -> TokenEventChannel | None:
        """The Redis channel, if configured."""
        return self._channel

    @property
    def trusted(self) -> bool:
        """Whether local entries may be served (no Redis, or subscribed)."""
        return self._channel is None or self._channel.healthy

    @property
    def generation(self) -> int:
        """Counter bumped by every eviction; read before a lookup, pass to put."""
        return self._generation

    def __contains__(self, key: object) -> bool:
        return key in self._tokens

    def get(self, key: str) -> CachedToken | None:
        """The cached entry of a token, if present, fresh and trusted."""
        entry = self._tokens.get(key)
        if entry is None or not self.trusted:
            return None
        if time.monotonic() - entry.stored_at > self._ttl:
            self._tokens.pop(key, None)
            return None
        return entry

    def put(self, key: str, entry: CachedToken, generation: int) -> None:
        """Cache an entry read when the generation was ``generation``."""
        if generation != self._generation or not self.trusted:
            return
        if len(self._tokens) >= self._max:
            self._tokens.pop(next(iter(self._tokens)))
        self._tokens[key] = entry

    async def get_shared(self, key: str) -> CachedToken | None:
        """The entry of a token in the shared Redis cache, if any."""
        if self._channel is None or not self._channel.healthy:
            return None
        found = await self._channel.get_token(key)
        if found is None:
            return None
        secret_hash, data = found
        expires_at = data.expires.timestamp() if data.expires else None
        return CachedToken(secret_hash, data, expires_at, time.monotonic())

    async def put_shared(self, key: str, entry: CachedToken) -> None:
        """Share a valid entry through Redis, for at most the TTL."""
        if self._channel is None or not self._channel.healthy or entry.data is None:
            return
        ttl = self._ttl
        if entry.expires_at is not None:
            ttl = min(ttl, entry.expires_at - time.time())
        if ttl >= 1:
            await self._channel.put_token(key, entry.secret_hash, entry.data, int(ttl))

    def get_child(self, key: ChildKey) -> CachedChild | None:
        """A cached child token for ``key``.

        Served even while the caches are bypassed: the caller validates the
        child, which then reads the database.
        """
        return self._children.get(key)

    def put_child(self, key: ChildKey, child: CachedChild, generation: int) -> None:
        """Remember a child token minted or found when at ``generation``."""
        if generation != self._generation:
            return
        if len(self._children) >= self._max:
            self._drop_child(next(iter(self._children)))
        self._children[key] = child
        self._child_index.setdefault(key.parent, set()).add(key)
        self._child_index.setdefault(child.token.key, set()).add(key)

    async def get_shared_child(self, key: ChildKey) -> Token | None:
        """A child token shared by another process through Redis."""
        if self._channel is None or not self._channel.healthy:
            return None
        return await self._channel.get_child(key)

    async def put_shared_child(self, key: ChildKey, child: CachedChild) -> None:
        """Share a child token with the other processes."""
        if self._channel is None or not self._channel.healthy:
            return
        ttl = int(child.expires_at - time.time())
        if ttl >= 1:
            await self._channel.put_child(key, child.token, ttl)

    def evict(self, keys: Iterable[str]) -> None:
        """Forget tokens and any child cached under them or as them (this process)."""
        self._generation += 1
        for key in keys:
            self._tokens.pop(key, None)
            for child_key in self._child_index.pop(key, ()):
                self._drop_child(child_key)

    def clear(self) -> None:
        """Forget everything (after missing events while Redis was away)."""
        self._generation += 1
        self._tokens.clear()
        self._children.clear()
        self._child_index.clear()

    async def invalidate(self, keys: Iterable[str]) -> None:
        """Evict tokens here and in every process, and block stale Redis copies."""
        doomed = sorted(set(keys))
        if not doomed:
            return
        self.evict(doomed)
        if self._channel is not None:
            await self._channel.invalidate(doomed, int(max(self._ttl, 1)))

    def _drop_child(self, key: ChildKey) -> None:
        child = self._children.pop(key, None)
        for index_key in (key.parent, child.token.key if child else None):
            if index_key is None:
                continue
            siblings = self._child_index.get(index_key)
            if siblings is not None:
                siblings.discard(key)
                if not siblings:
                    del self._child_index[index_key]
