"""Identity models: users and groups."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["USERNAME_PATTERN", "Group", "UserInfo"]

USERNAME_PATTERN = r"^[a-z0-9](?:[a-z0-9]|-[a-z0-9])*$"
"""Usernames: lowercase GitHub logins (``bot-`` prefix for service users)."""

USERNAME_RE = re.compile(USERNAME_PATTERN)

GROUPNAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"


class Group(BaseModel):
    """A group the user belongs to (a GitHub team is ``<org>-<team>``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[
        str, Field(pattern=GROUPNAME_PATTERN, max_length=128, description="Group name")
    ]
    id: Annotated[int, Field(ge=1, le=2**31 - 1, description="Numeric GID")]


class UserInfo(BaseModel):
    """What ``GET /auth/api/v1/user-info`` answers."""

    username: Annotated[str, Field(description="Username")]
    name: Annotated[str | None, Field(description="Full name")] = None
    email: Annotated[str | None, Field(description="Email address")] = None
    uid: Annotated[int | None, Field(description="Numeric UID")] = None
    gid: Annotated[int | None, Field(description="Primary GID")] = None
    groups: Annotated[list[Group], Field(description="Groups")] = []
