"""Token models: the token string itself, its stored data and API shapes."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .text import PersonText, TokenName
from .timestamp import Timestamp
from .userinfo import Group, UserInfo

__all__ = [
    "AdminTokenRequest",
    "NewToken",
    "Token",
    "TokenData",
    "TokenInfo",
    "TokenType",
    "UserTokenModifyRequest",
    "UserTokenRequest",
]

_PART = r"[A-Za-z0-9_-]{22}"
_TOKEN_RE = re.compile(rf"^gt-({_PART})\.({_PART})$")
_KEY_RE = re.compile(rf"^{_PART}$")


def _random_part() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


class TokenType(StrEnum):
    """The kinds of token the gateway issues."""

    session = "session"
    """A browser login, held in the session cookie."""

    user = "user"
    """A token a person made for themselves."""

    notebook = "notebook"
    """A child of a session handed to the user's lab."""

    internal = "internal"
    """A child delegated to one service with a subset of scopes."""

    service = "service"
    """A token for a ``bot-*`` user, made by an admin or the operator."""


@dataclass(frozen=True, slots=True)
class Token:
    """A gateway token: ``gt-<key>.<secret>``.

    The key identifies the token in the database and in URLs; the secret is
    known only to the holder and stored only as a keyed hash.
    """

    key: str
    secret: str

    @classmethod
    def generate(cls) -> Self:
        """Make a new random token (128 bits in each part)."""
        return cls(key=_random_part(), secret=_random_part())

    @classmethod
    def from_str(cls, value: str) -> Self:
        """Parse a token string.

        Raises
        ------
        ValueError
            If the string is not a well-formed gateway token.
        """
        match = _TOKEN_RE.match(value.strip())
        if not match:
            raise ValueError("Token is not a well-formed gateway token")
        return cls(key=match.group(1), secret=match.group(2))

    @staticmethod
    def is_token(value: str) -> bool:
        """Whether a string looks like a gateway token."""
        return bool(_TOKEN_RE.match(value.strip()))

    @staticmethod
    def is_valid_key(value: str) -> bool:
        """Whether a string is shaped like a token key."""
        return bool(_KEY_RE.match(value))

    def __str__(self) -> str:
        return f"gt-{self.key}.{self.secret}"

    def __repr__(self) -> str:
        # Never show the secret, even in debugging output.
        return f"Token(key={self.key!r}, secret=<redacted>)"


class TokenData(BaseModel):
    """Everything the gateway knows about a valid token, as cached.

    Identity fields are copied from the session at login (or from the admin
    request for service tokens) and inherited by child tokens.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    username: str
    token_type: TokenType
    scopes: frozenset[str]
    created: datetime
    expires: datetime | None = None
    parent: str | None = None
    service: str | None = None
    token_name: str | None = None
    name: str | None = None
    email: str | None = None
    uid: int | None = None
    gid: int | None = None
    groups: tuple[Group, ...] = ()

    def identity(self) -> UserInfo:
        """The identity the token carries (children and user tokens inherit it)."""
        return UserInfo(
            username=self.username,
            name=self.name,
            email=self.email,
            uid=self.uid,
            gid=self.gid,
            groups=list(self.groups),
        )


class TokenInfo(BaseModel):
    """A token's metadata as the REST API returns it (never the secret)."""

    token: Annotated[
        str, Field(description="Key of the token", examples=["5KVApqcVbSQWtO3VIRgOhQ"])
    ]
    username: Annotated[str, Field(description="Owner of the token")]
    token_type: Annotated[TokenType, Field(description="Class of token")]
    scopes: Annotated[list[str], Field(description="Scopes of the token")]
    service: Annotated[
        str | None, Field(description="Service an internal token is delegated to")
    ] = None
    created: Annotated[Timestamp, Field(description="When the token was created")]
    expires: Annotated[
        Timestamp | None, Field(description="When the token expires")
    ] = None
    last_used: Annotated[
        Timestamp | None, Field(description="When the token was last used")
    ] = None
    parent: Annotated[str | None, Field(description="Key of the parent token")] = None
    token_name: Annotated[
        str | None, Field(description="User-given name of a user token")
    ] = None


class UserTokenRequest(BaseModel):
    """A request to create a user token."""

    model_config = ConfigDict(extra="forbid")

    token_name: Annotated[TokenName, Field(description="Name of the token")]
    scopes: Annotated[
        list[str], Field(description="Scopes, a subset of the caller's")
    ] = []
    expires: Annotated[
        Timestamp | None, Field(description="Expiry; none for no expiry")
    ] = None

    @field_validator("token_name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("token_name must not be blank")
        return value


class UserTokenModifyRequest(BaseModel):
    """A request to change a user token; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    token_name: TokenName | None = None
    scopes: list[str] | None = None
    expires: Timestamp | None = None


class AdminTokenRequest(BaseModel):
    """An admin's request to create a token for another user (``tokens``)."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[
        str,
        Field(min_length=1, max_length=64, description="User to issue the token for"),
    ]
    token_type: Annotated[TokenType, Field(description="service or user")]
    token_name: TokenName | None = None
    scopes: list[str] = []
    expires: Timestamp | None = None
    name: PersonText | None = None
    email: PersonText | None = None
    uid: Annotated[int | None, Field(ge=1, le=2**31 - 1)] = None
    gid: Annotated[int | None, Field(ge=1, le=2**31 - 1)] = None
    groups: list[Group] | None = None


class NewToken(BaseModel):
    """The answer to a token creation: the only time the secret is shown."""

    token: Annotated[str, Field(description="The new token")]
