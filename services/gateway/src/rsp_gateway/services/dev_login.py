"""The development identity provider: a typed-in user instead of GitHub.

Only for ``make dev`` on one machine (the configuration refuses
``dev_login`` outside the ``local`` environment). The form's fields become a
:class:`~rsp_gateway.models.userinfo.UserInfo`; the session is then made by
exactly the same code as a GitHub login.

Numeric ids are derived from names so that the same user always gets the same
UID and the same group the same GID: ``100000 + (SHA-256 of the name modulo
900000)``, that is, in ``100000..999999``. Different names can collide; that is
acceptable for development only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..exceptions import LoginFormError
from ..models.userinfo import GROUPNAME_PATTERN, USERNAME_RE, Group, UserInfo

__all__ = [
    "DEV_ID_BASE",
    "DEV_ID_RANGE",
    "MAX_GROUPS",
    "DevLoginForm",
    "dev_id",
    "parse_dev_login_form",
]

DEV_ID_BASE = 100_000
"""Smallest UID or GID the development provider gives."""

DEV_ID_RANGE = 900_000
"""Number of ids the development provider uses, from `DEV_ID_BASE`."""

MAX_GROUPS = 50
"""Most groups accepted on the form."""

MAX_USERNAME_LENGTH = 64
MAX_NAME_LENGTH = 128
MAX_EMAIL_LENGTH = 254
MAX_GROUP_LENGTH = 128

_GROUP_RE = re.compile(GROUPNAME_PATTERN)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")


@dataclass(frozen=True, slots=True)
class DevLoginForm:
    """The fields of the development login form, as typed."""

    username: str = ""
    name: str = ""
    email: str = ""
    groups: str = ""
    """Group names separated by commas."""


def dev_id(kind: str, name: str) -> int:
    """The stable numeric id of a user (``kind="user"``) or group (``"group"``)."""
    digest = hashlib.sha256(f"{kind}:{name}".encode()).digest()
    return DEV_ID_BASE + int.from_bytes(digest[:8], "big") % DEV_ID_RANGE


def parse_dev_login_form(form: DevLoginForm) -> UserInfo:
    """Check every field of the form and build the user it describes.

    Raises
    ------
    LoginFormError
        With a message for each invalid field.
    """
    errors: dict[str, str] = {}
    username = _check_username(form.username.strip(), errors)
    name = form.name.strip() or None
    if name is not None and (len(name) > MAX_NAME_LENGTH or not name.isprintable()):
        errors["name"] = (
            f"Use at most {MAX_NAME_LENGTH} printable characters, or leave it empty."
        )
    email = form.email.strip() or None
    if email is not None and (
        len(email) > MAX_EMAIL_LENGTH or not _EMAIL_RE.match(email)
    ):
        errors["email"] = "Enter an address like name@example.org, or leave it empty."
    groups = _check_groups(form.groups, errors)
    if errors:
        raise LoginFormError(errors)
    uid = dev_id("user", username)
    return UserInfo(
        username=username,
        name=name,
        email=email,
        uid=uid,
        gid=uid,
        groups=[Group(name=g, id=dev_id("group", g)) for g in groups],
    )


def _check_username(username: str, errors: dict[str, str]) -> str:
    if not username:
        errors["username"] = "Enter a user name."
    elif len(username) > MAX_USERNAME_LENGTH or not USERNAME_RE.match(username):
        errors["username"] = (
            "Use lowercase letters, digits and single hyphens inside,"
            f" at most {MAX_USERNAME_LENGTH} characters (like a GitHub login)."
        )
    elif username.startswith("bot-"):
        errors["username"] = "Names starting with bot- are kept for service tokens."
    return username


def _check_groups(value: str, errors: dict[str, str]) -> list[str]:
    groups: list[str] = []
    for raw in value.split(","):
        group = raw.strip()
        if not group:
            continue
        if len(group) > MAX_GROUP_LENGTH or not _GROUP_RE.match(group):
            errors["groups"] = (
                f"{group[:MAX_GROUP_LENGTH]!r} is not a valid group name: use"
                " letters, digits, '.', '_' and '-', starting with a letter or"
                " digit."
            )
            return []
        if group not in groups:
            groups.append(group)
    if len(groups) > MAX_GROUPS:
        errors["groups"] = f"Give at most {MAX_GROUPS} groups."
        return []
    return sorted(groups)
