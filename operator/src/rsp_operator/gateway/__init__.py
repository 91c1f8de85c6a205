"""The gateway's token API as the operator uses it (service tokens)."""

from .client import GatewayClient
from .errors import GatewayError, GatewayRefusedError, GatewayUnavailableError
from .models import TokenInfo

__all__ = [
    "GatewayClient",
    "GatewayError",
    "GatewayRefusedError",
    "GatewayUnavailableError",
    "TokenInfo",
]
