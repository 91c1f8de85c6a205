"""Cheap recording of when each token was last used.

Validation only notes the time in a dictionary; a background task writes
the batch in one statement every few seconds, and once more at shutdown.
No request ever waits for this write.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .token import TokenStore

__all__ = ["LastUsedRecorder"]


class LastUsedRecorder:
    """Batches last-use times in memory and flushes them periodically."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, interval: float = 10.0
    ) -> None:
        self._sessions = sessions
        self._interval = interval
        self._pending: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._logger = structlog.get_logger("rsp_gateway.last_used")

    def record(self, key: str) -> None:
        """Note that the token ``key`` was used now."""
        self._pending[key] = time.time()

    def pending(self, key: str) -> datetime | None:
        """A use of ``key`` noted but not yet written, if any."""
        when = self._pending.get(key)
        return datetime.fromtimestamp(when, tz=UTC) if when is not None else None

    def start(self) -> None:
        """Start flushing periodically."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="last-used-flusher")

    async def flush(self) -> int:
        """Write every pending use now; return how many tokens were written."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, {}
        used = {
            key: datetime.fromtimestamp(when, tz=UTC) for key, when in batch.items()
        }
        try:
            async with self._sessions.begin() as session:
                await TokenStore(session).record_last_used(used)
        except (SQLAlchemyError, OSError) as e:
            # Keep them for the next round, without losing newer uses.
            for key, when in batch.items():
                self._pending.setdefault(key, when)
            self._logger.warning("Could not record token use", error=str(e))
            return 0
        return len(used)

    async def aclose(self) -> None:
        """Stop the periodic task and write what is pending."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()
