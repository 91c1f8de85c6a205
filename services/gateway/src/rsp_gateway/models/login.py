"""Models of the login and session state."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

__all__ = ["LoginConfig", "LoginResponse", "ScopeDescription"]


class ScopeDescription(BaseModel):
    """A scope the platform knows and what it allows."""

    name: str
    description: str


class LoginConfig(BaseModel):
    """Configuration the token page needs."""

    scopes: list[ScopeDescription]


class LoginResponse(BaseModel):
    """``GET /auth/api/v1/login``: who is logged in and their CSRF token."""

    csrf: Annotated[
        str, Field(description="Send as X-CSRF-Token with cookie-authenticated writes")
    ]
    username: str
    scopes: list[str]
    config: LoginConfig
