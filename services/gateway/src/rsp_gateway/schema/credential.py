"""The ``github_credential`` table: the GitHub access token kept for a session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UtcDateTime

__all__ = ["GitHubCredentialRecord"]


class GitHubCredentialRecord(Base):
    """The GitHub access token of one session, encrypted, and its refresh state.

    Kept only for sessions that came from a GitHub login, so that their
    groups and scopes can be read again from GitHub. The row goes with its
    session (``ON DELETE CASCADE``): logout, revocation and expiry delete it.
    ``encrypted_token`` is Fernet ciphertext, never the token itself.
    """

    __tablename__ = "github_credential"

    token: Mapped[str] = mapped_column(
        String(22), ForeignKey("token.key", ondelete="CASCADE"), primary_key=True
    )
    encrypted_token: Mapped[str] = mapped_column(Text)
    refreshed: Mapped[datetime] = mapped_column(UtcDateTime)
    """When the session's identity was last read from GitHub (first: the login)."""
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Until when a refresher holds the row, or a failed attempt waits."""

    __table_args__ = (Index(None, "refreshed"),)
