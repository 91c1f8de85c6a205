"""The ``token_change_history`` table: every create, edit, revoke and expire."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IPAddress, JSONList, UtcDateTime

__all__ = ["TokenChangeHistoryRecord"]


class TokenChangeHistoryRecord(Base):
    """One change of one token, with who made it, from where and when.

    ``token`` is not a foreign key: history outlives the token it describes.
    Listings page by ``(event_time, id)`` per user, per token and
    admin-wide, each with its own index.
    """

    __tablename__ = "token_change_history"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    )
    token: Mapped[str] = mapped_column(String(22))
    username: Mapped[str] = mapped_column(String(64))
    token_type: Mapped[str] = mapped_column(String(16))
    token_name: Mapped[str | None] = mapped_column(String(64))
    parent: Mapped[str | None] = mapped_column(String(22))
    scopes: Mapped[list[str]] = mapped_column(JSONList)
    service: Mapped[str | None] = mapped_column(String(64))
    expires: Mapped[datetime | None] = mapped_column(UtcDateTime)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    old_token_name: Mapped[str | None] = mapped_column(String(64))
    old_scopes: Mapped[list[str] | None] = mapped_column(JSONList)
    old_expires: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ip_address: Mapped[str | None] = mapped_column(IPAddress)
    event_time: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(None, "event_time", "id"),
        Index(None, "username", "event_time", "id"),
        Index(None, "token", "event_time", "id"),
    )
