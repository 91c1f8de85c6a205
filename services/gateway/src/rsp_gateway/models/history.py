"""Token change history models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from .timestamp import Timestamp
from .token import TokenType

__all__ = ["HistoryCursor", "TokenChange", "TokenChangeHistoryEntry"]


class TokenChange(StrEnum):
    """What happened to a token."""

    create = "create"
    edit = "edit"
    revoke = "revoke"
    expire = "expire"


class TokenChangeHistoryEntry(BaseModel):
    """One recorded change of a token, as the REST API returns it."""

    token: Annotated[str, Field(description="Key of the token")]
    username: str
    token_type: TokenType
    token_name: str | None = None
    parent: str | None = None
    scopes: list[str]
    service: str | None = None
    expires: Timestamp | None = None
    actor: Annotated[str | None, Field(description="Who made the change")] = None
    action: TokenChange
    old_token_name: str | None = None
    old_scopes: list[str] | None = None
    old_expires: Timestamp | None = None
    ip_address: str | None = None
    event_time: Timestamp


class HistoryCursor(BaseModel):
    """Position in a history listing: the time and id of an entry.

    Serialised as ``<unix-time>_<id>``, with a ``p`` prefix for a cursor that
    pages backwards.
    """

    time: datetime
    id: int
    previous: bool = False
