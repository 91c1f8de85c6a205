"""A GitHub account as a platform user, and the scopes its groups grant.

One place for both, used by the login (:mod:`~rsp_gateway.services.login`)
and by the refresh of live sessions
(:mod:`~rsp_gateway.services.group_refresh`), so that a refreshed session
gets exactly what a new login would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from structlog.stdlib import BoundLogger

from ..exceptions import LoginFailedError, UpstreamError
from ..models.github import GitHubUserInfo
from ..models.userinfo import GROUPNAME_PATTERN, USERNAME_RE, Group, UserInfo

__all__ = ["profile_text", "scopes_for", "user_from_github"]

_GROUP_RE = re.compile(GROUPNAME_PATTERN)
_MAX_ID = 2**31 - 1
_PROFILE_LIMIT = 256
"""Longest name or email stored (the database columns' size)."""

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def profile_text(value: str | None) -> str | None:
    """A GitHub profile field made safe to store: no control characters, bounded.

    GitHub's profile fields are the user's own text; a control character or
    an over-long value must not break the login.
    """
    if not value:
        return None
    cleaned = _CONTROL_RE.sub("", value).strip()[:_PROFILE_LIMIT]
    return cleaned or None


def user_from_github(info: GitHubUserInfo, logger: BoundLogger) -> UserInfo:
    """The platform's user for a GitHub account.

    The user name is the lowercased login, the UID the GitHub user id and
    the primary GID the same number (a user private group); each team
    becomes the group ``<org>-<team slug>`` with the team id as GID. The
    email is the primary verified address, else the public one.

    Raises
    ------
    LoginFailedError
        If the login cannot be a user name here.
    UpstreamError
        If GitHub sent a user id out of range.
    """
    username = info.login.lower()
    if len(username) > 64 or not USERNAME_RE.match(username):
        raise LoginFailedError(
            f"The GitHub login {info.login!r} cannot be used as a user name here."
        )
    if username.startswith("bot-"):
        raise LoginFailedError(
            "User names starting with bot- are kept for service accounts."
        )
    if not 1 <= info.id <= _MAX_ID:
        raise UpstreamError("GitHub sent a user id out of range.")
    email = next(
        (e.email for e in info.emails if e.primary and e.verified),
        info.public_email,
    )
    groups: dict[str, Group] = {}
    for team in info.teams:
        name = team.group_name
        if len(name) > 128 or not _GROUP_RE.match(name) or not 1 <= team.id <= _MAX_ID:
            logger.warning("Ignoring GitHub team", group=name, id=team.id)
            continue
        groups.setdefault(name, Group(name=name, id=team.id))
    return UserInfo(
        username=username,
        name=profile_text(info.name),
        email=profile_text(email),
        uid=info.id,
        gid=info.id,
        groups=sorted(groups.values(), key=lambda g: g.name),
    )


def scopes_for(
    group_mapping: Mapping[str, Sequence[str]], groups: Iterable[str]
) -> list[str]:
    """Every scope whose mapped groups include one of ``groups``, sorted."""
    member_of = set(groups)
    return sorted(
        scope
        for scope, mapped in group_mapping.items()
        if member_of.intersection(mapped)
    )
