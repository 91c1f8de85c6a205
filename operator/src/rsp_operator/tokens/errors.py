"""Why a ServiceToken could not be reconciled, and whether to retry."""

from __future__ import annotations

__all__ = ["PermanentTokenError", "ServiceTokenError", "TemporaryTokenError"]


class ServiceTokenError(Exception):
    """A reconcile failed; the message is the one put in the Ready condition.

    Attributes
    ----------
    reason
        The condition's reason (CamelCase), also the event's reason.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class PermanentTokenError(ServiceTokenError):
    """Retrying will not help until the resource or the configuration changes."""


class TemporaryTokenError(ServiceTokenError):
    """Retrying later may help (the gateway or Kubernetes is unavailable).

    Attributes
    ----------
    delay
        Seconds to wait before the next attempt.
    """

    def __init__(self, message: str, reason: str, delay: float) -> None:
        super().__init__(message, reason)
        self.delay = delay
