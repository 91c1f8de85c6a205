"""Ways a client presents a token, for API tests."""

from __future__ import annotations

import base64

from rsp_gateway.models.token import Token

__all__ = ["basic", "bearer"]


def bearer(token: Token | str) -> dict[str, str]:
    """Headers presenting ``token`` as a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    """Headers presenting HTTP Basic credentials."""
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}
