"""What the encrypted session cookie holds."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

__all__ = ["SessionState"]


class SessionState(BaseModel):
    """State of one browser, kept encrypted in the session cookie."""

    token: str | None = None
    """The session token, once logged in."""

    csrf: str | None = None
    """CSRF token that cookie-authenticated writes must echo."""

    login_state: str | None = None
    """OAuth ``state`` of a login in progress, bound to this browser."""

    return_url: str | None = None
    """Where to send the browser after a login in progress."""

    login_started: datetime | None = None
    """When the login in progress began (a stale ``state`` is refused)."""
