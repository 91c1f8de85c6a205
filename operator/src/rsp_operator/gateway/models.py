"""Shapes of the gateway's token API that the operator reads and sends."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["SERVICE", "ServiceTokenRequest", "TokenInfo", "as_utc", "token_key"]

_TOKEN_RE = re.compile(r"^gt-([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{22}$")

SERVICE = "service"
"""The gateway's type of token for ``bot-*`` users."""


def as_utc(value: datetime) -> datetime:
    """The time in UTC (a naive time is read as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class TokenInfo(BaseModel):
    """A token's metadata as ``/auth/api/v1/token-info`` answers it.

    The gateway sends times as integer seconds since the epoch.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: Annotated[str, Field(alias="token", description="Key of the token")]
    username: str
    token_type: str
    scopes: list[str]
    created: UtcDatetime
    expires: UtcDatetime | None = None


class ServiceTokenRequest(BaseModel):
    """Body of ``POST /auth/api/v1/tokens`` for a service token."""

    model_config = ConfigDict(extra="forbid")

    username: str
    token_type: str = SERVICE
    scopes: list[str]
    expires: int | None = Field(
        default=None, description="Expiry in seconds since the epoch"
    )


def token_key(token: str) -> str | None:
    """The key (public half) of ``gt-<key>.<secret>``; `None` if not so shaped."""
    match = _TOKEN_RE.match(token)
    return match.group(1) if match else None
