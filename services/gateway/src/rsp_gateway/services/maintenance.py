"""Periodic clean-up of tokens and their history."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.stdlib import BoundLogger

from ..config import Config
from ..models.history import TokenChange
from ..storage.cache import TokenCache
from ..storage.history import TokenChangeHistoryStore
from ..storage.token import TokenStore, delete_token_trees
from .token_rules import INTERNAL_ACTOR

__all__ = ["TokenMaintenanceService"]


class TokenMaintenanceService:
    """Expiry of tokens and trimming of history, run by the CLI's maintenance."""

    def __init__(
        self,
        *,
        config: Config,
        sessions: async_sessionmaker[AsyncSession],
        cache: TokenCache,
        logger: BoundLogger,
    ) -> None:
        self._config = config
        self._sessions = sessions
        self._cache = cache
        self._logger = logger

    async def expire_tokens(self) -> int:
        """Delete expired tokens, recording ``expire`` history; return how many."""
        async with self._sessions.begin() as session:
            expired = await TokenStore(session).expired_keys(datetime.now(UTC))
            keys = await delete_token_trees(
                session, expired, TokenChange.expire, actor=INTERNAL_ACTOR, ip=None
            )
        await self._cache.invalidate(keys)
        if keys:
            self._logger.info("Deleted expired tokens", count=len(keys))
        return len(keys)

    async def trim_history(self) -> int:
        """Delete history older than the retention period; return how many."""
        cutoff = datetime.now(UTC) - self._config.history_retention
        async with self._sessions.begin() as session:
            count = await TokenChangeHistoryStore(session).delete_older_than(cutoff)
        if count:
            self._logger.info("Trimmed token history", count=count)
        return count
