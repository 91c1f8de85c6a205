"""What the start-up handlers leave in kopf's memo for the resource handlers."""

from __future__ import annotations

from typing import Any

import kopf

__all__ = ["memo_entry"]


def memo_entry[T](memo: Any, key: str, kind: type[T], resource: str) -> T:
    """The ``kind`` object start-up put in ``memo`` under ``key``.

    Raises
    ------
    kopf.TemporaryError
        If start-up has not put it there yet (a handler racing start-up).
    """
    entry = memo.get(key)
    if not isinstance(entry, kind):
        raise kopf.TemporaryError(f"{resource} handling is not started yet", delay=10)
    return entry
