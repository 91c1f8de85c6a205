"""When each ``PlatformIngress`` is next compared with its objects again.

kopf's timer fires every :data:`~rsp_operator.handlers.platformingress.TIMER_TICK`
seconds for each resource; the schedule says whether ``resync_seconds`` have
passed since that resource was last reconciled (by any handler), and
serialises the reconciliations of one resource (kopf runs timers beside the
change handlers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["ResyncSchedule"]


class ResyncSchedule:
    """Last reconciliation of each resource, and one lock per resource."""

    def __init__(
        self, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if interval <= 0:
            raise ValueError("the resync interval must be positive")
        self.interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def due(self, uid: str) -> bool:
        """Whether resource ``uid`` should be reconciled again now.

        A resource never reconciled by this process is due (the resume
        handler normally does it first).
        """
        last = self._last.get(uid)
        return last is None or self._clock() - last >= self.interval

    def done(self, uid: str) -> None:
        """Record that resource ``uid`` was reconciled just now."""
        self._last[uid] = self._clock()

    def lock(self, uid: str) -> asyncio.Lock:
        """The lock held while resource ``uid`` is reconciled."""
        return self._locks.setdefault(uid, asyncio.Lock())

    def forget(self, uid: str) -> None:
        """Drop what is known of a deleted resource."""
        self._last.pop(uid, None)
        self._locks.pop(uid, None)
