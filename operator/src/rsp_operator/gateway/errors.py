"""What can go wrong when the operator calls the gateway."""

from __future__ import annotations

__all__ = ["GatewayError", "GatewayRefusedError", "GatewayUnavailableError"]


class GatewayError(Exception):
    """A call to the gateway's token API failed; the message says why."""


class GatewayUnavailableError(GatewayError):
    """The gateway could not be reached or failed (5xx): worth retrying later."""


class GatewayRefusedError(GatewayError):
    """The gateway refused the request (4xx): retrying the same will not help.

    Attributes
    ----------
    status_code
        The HTTP status of the refusal.
    """

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code
