"""``status`` of a ``PlatformIngress``: the ``Ready`` condition and its objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .model import ObjectRef

__all__ = ["READY", "build_status", "status_changes"]

READY = "Ready"
"""Type of the condition saying whether the route is served as declared."""


def _previous_ready(previous: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    for condition in (previous or {}).get("conditions") or []:
        if condition.get("type") == READY:
            return dict(condition)
    return None


def build_status(
    *,
    ready: bool,
    reason: str,
    message: str,
    generation: int,
    objects: Sequence[ObjectRef],
    previous: Mapping[str, Any] | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The resource's status after a reconciliation.

    ``lastTransitionTime`` stays as it was unless ``Ready`` changes value.
    """
    value = "True" if ready else "False"
    old = _previous_ready(previous)
    if old is not None and old.get("status") == value and old.get("lastTransitionTime"):
        since = str(old["lastTransitionTime"])
    else:
        since = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "observedGeneration": generation,
        "conditions": [
            {
                "type": READY,
                "status": value,
                "reason": reason,
                "message": message,
                "observedGeneration": generation,
                "lastTransitionTime": since,
            }
        ],
        "objects": [ref.to_status() for ref in objects],
    }


def status_changes(
    previous: Mapping[str, Any] | None, status: Mapping[str, Any]
) -> dict[str, Any]:
    """The fields of ``status`` that differ from ``previous`` (a merge patch)."""
    before = previous or {}
    return {k: v for k, v in status.items() if before.get(k) != v}
