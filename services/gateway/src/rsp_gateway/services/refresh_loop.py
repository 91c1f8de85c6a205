"""The background task of a gateway process that refreshes GitHub sessions."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError

from .group_refresh import RefreshSummary

__all__ = ["GroupRefreshLoop"]


class GroupRefreshLoop:
    """Runs the refresh in the background of a gateway process.

    Every ``period`` (with some jitter so that replicas spread out) it
    refreshes the due sessions; a failing database or Redis is logged and
    tried again at the next period.
    """

    def __init__(
        self,
        refresh: Callable[[], Awaitable[RefreshSummary]],
        *,
        period: timedelta,
        first_delay: timedelta | None = None,
    ) -> None:
        self._refresh = refresh
        self._period = period.total_seconds()
        self._first = (
            first_delay.total_seconds() if first_delay is not None else self._period
        )
        self._task: asyncio.Task[None] | None = None
        self._logger = structlog.get_logger("rsp_gateway.group_refresh")
        self._random = secrets.SystemRandom()
        self.runs = 0
        """Completed runs (for tests and health)."""

    def start(self) -> None:
        """Start the loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="group-refresh")

    async def aclose(self) -> None:
        """Stop the loop (a run in progress is cancelled; its claims expire)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = self._first * self._random.uniform(0.5, 1.0)
        while True:
            await asyncio.sleep(delay)
            try:
                await self._refresh()
            except (SQLAlchemyError, OSError) as e:
                self._logger.warning("Group refresh failed", error=str(e))
            self.runs += 1
            delay = self._period * self._random.uniform(0.8, 1.2)
