"""Validation of presented tokens: the gateway's hottest path.

A cache hit costs a dictionary lookup and one HMAC. A miss reads the
shared Redis cache, then the database, and caches the answer, including
"no such token" (keys are random and never reused, so a negative answer
stays true). The bootstrap token is never stored: it is compared with the
configured value in constant time.
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..config import Config
from ..models.token import Token, TokenData, TokenType
from ..storage.cache import CachedToken, TokenCache
from ..storage.token import TokenStore
from .token_rules import BOOTSTRAP_SCOPES, BOOTSTRAP_USERNAME, TokenHasher

__all__ = ["TokenValidator"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TokenValidator:
    """Answers whether a token is valid, and with which data."""

    def __init__(
        self,
        *,
        config: Config,
        sessions: async_sessionmaker[AsyncSession],
        cache: TokenCache,
        hasher: TokenHasher,
    ) -> None:
        self._sessions = sessions
        self._cache = cache
        self._hasher = hasher
        self._bootstrap: Token | None = None
        if config.bootstrap_token is not None:
            value = config.bootstrap_token.get_secret_value()
            if Token.is_token(value):
                self._bootstrap = Token.from_str(value)

    def is_bootstrap(self, data: TokenData) -> bool:
        """Whether ``data`` is the configured bootstrap token (never stored)."""
        return self._bootstrap is not None and data.key == self._bootstrap.key

    async def lookup(self, token: Token) -> TokenData | None:
        """The data of a valid token; `None` if unknown, wrong, expired or revoked."""
        if self._bootstrap is not None and token.key == self._bootstrap.key:
            return self._bootstrap_data(token)
        entry = self._cache.get(token.key)
        if entry is None:
            entry = await self._load(token.key)
        if entry.data is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= time.time():
            return None
        if not self._hasher.matches(token.secret, entry.secret_hash):
            return None
        return entry.data

    async def _load(self, key: str) -> CachedToken:
        generation = self._cache.generation
        entry = await self._cache.get_shared(key)
        if entry is None:
            async with self._sessions() as session:
                record = await TokenStore(session).get(key)
            if record is None:
                entry = CachedToken("", None, None, time.monotonic())
            else:
                data = TokenStore.to_data(record)
                expires_at = record.expires.timestamp() if record.expires else None
                entry = CachedToken(
                    record.secret_hash, data, expires_at, time.monotonic()
                )
                await self._cache.put_shared(key, entry)
        self._cache.put(key, entry, generation)
        return entry

    def _bootstrap_data(self, token: Token) -> TokenData | None:
        assert self._bootstrap is not None
        expected = self._bootstrap.secret.encode()
        if not hmac.compare_digest(token.secret.encode(), expected):
            return None
        return TokenData(
            key=token.key,
            username=BOOTSTRAP_USERNAME,
            token_type=TokenType.service,
            scopes=BOOTSTRAP_SCOPES,
            created=_EPOCH,
        )
