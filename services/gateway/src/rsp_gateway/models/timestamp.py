"""Times as the REST API shows them: whole seconds since the Unix epoch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

__all__ = ["Timestamp"]


def _as_utc(value: datetime) -> datetime:
    """Return the time in UTC, reading a naive time as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range") from None


def _to_unix_seconds(value: datetime) -> int:
    return int(value.timestamp())


Timestamp = Annotated[
    datetime,
    AfterValidator(_as_utc),
    PlainSerializer(_to_unix_seconds, return_type=int, when_used="json"),
]
"""A time that JSON shows as integer seconds since the epoch (as Gafaelfawr does).

Input accepts the same integer or an ISO 8601 string; Python code sees an
aware :class:`~datetime.datetime`.
"""
