"""The ``status`` of a ServiceToken: its Ready condition and current token.

:func:`updated_status` computes the next status from the current one, so
that the caller can write it only when something changed (an unchanged
condition keeps its ``lastTransitionTime``). Keys it does not manage (for
example kopf's own) are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "PendingRevocation",
    "Readiness",
    "ReadyStatus",
    "TokenFields",
    "format_time",
    "pending_revocations",
    "updated_status",
]

READY = "Ready"


class ReadyStatus(StrEnum):
    """Value of the Ready condition."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class Readiness:
    """The Ready condition to set."""

    status: ReadyStatus
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class TokenFields:
    """The token the Secret holds now."""

    key: str
    expires: datetime | None
    created: datetime


@dataclass(frozen=True, slots=True)
class PendingRevocation:
    """A replaced token that still has to be revoked at the gateway."""

    username: str
    key: str

    def to_status(self) -> dict[str, str]:
        """The entry as the status holds it."""
        return {"username": self.username, "key": self.key}


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with second precision, as Kubernetes writes times."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pending_revocations(status: Mapping[str, Any]) -> list[PendingRevocation]:
    """The replaced tokens the status says are still to be revoked."""
    pending = []
    for entry in status.get("pendingRevocations") or []:
        if isinstance(entry, Mapping):
            username, key = entry.get("username"), entry.get("key")
            if isinstance(username, str) and isinstance(key, str):
                pending.append(PendingRevocation(username=username, key=key))
    return pending


def updated_status(
    current: Mapping[str, Any],
    *,
    readiness: Readiness,
    generation: int | None,
    now: datetime,
    token: TokenFields | None = None,
    pending: list[PendingRevocation] | None = None,
) -> dict[str, Any]:
    """The status after this reconcile.

    Parameters
    ----------
    current
        The status as read.
    readiness
        The Ready condition to set.
    generation
        ``metadata.generation`` that was reconciled.
    now
        The time of a transition, if the condition's value changes.
    token
        The token the Secret now holds (`None`: leave the token fields).
    pending
        Replaced tokens still to revoke (`None`: leave them).
    """
    status = dict(current)
    if generation is not None:
        status["observedGeneration"] = generation
    conditions = [dict(c) for c in status.get("conditions") or []]
    ready: dict[str, Any] = {
        "type": READY,
        "status": readiness.status.value,
        "reason": readiness.reason,
        "message": readiness.message,
        "lastTransitionTime": format_time(now),
    }
    if generation is not None:
        ready["observedGeneration"] = generation
    for index, condition in enumerate(conditions):
        if condition.get("type") == READY:
            if condition.get("status") == ready["status"]:
                previous = condition.get("lastTransitionTime")
                ready["lastTransitionTime"] = previous or ready["lastTransitionTime"]
            conditions[index] = ready
            break
    else:
        conditions.append(ready)
    status["conditions"] = conditions
    if token is not None:
        status["tokenKey"] = token.key
        status["rotated"] = format_time(token.created)
        if token.expires is None:
            status.pop("expires", None)
        else:
            status["expires"] = format_time(token.expires)
    if pending is not None:
        if pending:
            status["pendingRevocations"] = [p.to_status() for p in pending]
        else:
            status.pop("pendingRevocations", None)
    return status
