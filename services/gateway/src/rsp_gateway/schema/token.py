"""The ``token`` table: one row per live token, never its secret."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONList, UtcDateTime

__all__ = ["TokenRecord"]


class TokenRecord(Base):
    """A token: its key, the keyed hash of its secret, and what it grants.

    Identity fields (name, email, uid, gid, groups) are copied from the
    session at login, or from the admin's request for service tokens, and
    inherited by children.
    """

    __tablename__ = "token"

    key: Mapped[str] = mapped_column(String(22), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    token_type: Mapped[str] = mapped_column(String(16))
    token_name: Mapped[str | None] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSONList)
    service: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires: Mapped[datetime | None] = mapped_column(UtcDateTime)
    parent: Mapped[str | None] = mapped_column(
        String(22), ForeignKey("token.key", ondelete="CASCADE")
    )
    name: Mapped[str | None] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(256))
    uid: Mapped[int | None] = mapped_column(Integer)
    gid: Mapped[int | None] = mapped_column(Integer)
    groups: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONList)

    __table_args__ = (
        UniqueConstraint("username", "token_name"),
        Index(None, "parent"),
        Index(None, "username"),
        Index(None, "expires"),
    )
