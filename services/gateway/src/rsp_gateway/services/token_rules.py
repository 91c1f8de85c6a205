"""The rules every token change follows: who may act, which scopes, which expiry.

Also the keyed hash under which secrets are stored, and the credentials of
the operator acting through the CLI.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime

from ..config import Config
from ..exceptions import InputError, InsufficientScopeError, PermissionDeniedError
from ..models.token import AdminTokenRequest, TokenData, TokenType
from ..models.userinfo import USERNAME_RE

__all__ = [
    "ADMIN_SCOPE",
    "BOOTSTRAP_SCOPES",
    "BOOTSTRAP_USERNAME",
    "INTERNAL_ACTOR",
    "USER_TOKEN_SCOPE",
    "TokenHasher",
    "TokenRules",
    "as_utc",
    "clean_ip",
    "operator_auth",
]

ADMIN_SCOPE = "admin:token"
"""Scope to manage any user's tokens and create service tokens."""

USER_TOKEN_SCOPE = "user:token"  # noqa: S105 (a scope name, not a secret)
"""Scope to manage one's own tokens."""

BOOTSTRAP_USERNAME = "bootstrap"
BOOTSTRAP_SCOPES = frozenset({"admin:token", "admin:userinfo"})
INTERNAL_ACTOR = "<internal>"
"""Actor recorded for changes the gateway makes itself (expiry)."""


class TokenHasher:
    """Keyed hash (HMAC-SHA256) of token secrets: what the database stores."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def hash(self, secret: str) -> str:
        """The hex HMAC of a secret."""
        return hmac.digest(self._key, secret.encode(), "sha256").hex()

    def matches(self, secret: str, secret_hash: str) -> bool:
        """Whether ``secret`` hashes to ``secret_hash`` (constant time)."""
        return hmac.compare_digest(self.hash(secret), secret_hash)


def operator_auth(actor: str) -> TokenData:
    """Credentials of the operator acting through the CLI (``admin:token``).

    Never valid as a token; only used as the ``auth`` of service calls, so
    that history records ``actor`` as who made the change.
    """
    return TokenData(
        key="",
        username=actor,
        token_type=TokenType.service,
        scopes=frozenset({ADMIN_SCOPE}),
        created=datetime.now(UTC),
    )


def clean_ip(ip_address: str | None) -> str | None:
    """The address in canonical form; anything that is not an IP becomes `None`."""
    if not ip_address:
        return None
    try:
        return str(ipaddress.ip_address(ip_address))
    except ValueError:
        return None


def as_utc(value: datetime) -> datetime:
    """The time in UTC, reading a naive time as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TokenRules:
    """Checks of a request against the platform's token rules."""

    def __init__(self, config: Config) -> None:
        self._known = frozenset(config.known_scopes)

    @staticmethod
    def check_may_read(auth: TokenData, username: str) -> None:
        """The caller is ``username`` or holds ``admin:token``."""
        TokenRules.check_username(username)
        if auth.username != username and ADMIN_SCOPE not in auth.scopes:
            raise PermissionDeniedError(
                f"{auth.username} may not see the tokens of {username}"
            )

    @staticmethod
    def check_may_manage(auth: TokenData, username: str) -> None:
        """The caller is ``username`` with ``user:token``, or holds ``admin:token``."""
        TokenRules.check_username(username)
        if ADMIN_SCOPE in auth.scopes:
            return
        if auth.username != username:
            raise PermissionDeniedError(
                f"{auth.username} may not manage the tokens of {username}"
            )
        if USER_TOKEN_SCOPE not in auth.scopes:
            raise InsufficientScopeError("Managing tokens needs the user:token scope")

    @staticmethod
    def check_admin(auth: TokenData, action: str) -> None:
        """The caller holds ``admin:token``."""
        if ADMIN_SCOPE not in auth.scopes:
            raise PermissionDeniedError(f"{action} needs admin:token")

    @classmethod
    def check_admin_request(cls, auth: TokenData, request: AdminTokenRequest) -> None:
        """An admin asks for a service token for a ``bot-*`` user, or a user token."""
        cls.check_admin(auth, "Creating tokens for other users")
        cls.check_username(request.username)
        match request.token_type:
            case TokenType.service if not request.username.startswith("bot-"):
                raise InputError(
                    "Service tokens are only for bot-* users",
                    location="body",
                    field="username",
                )
            case TokenType.user if not request.token_name:
                raise InputError(
                    "User tokens need a token_name", location="body", field="token_name"
                )
            case TokenType.service | TokenType.user:
                pass
            case _:
                raise InputError(
                    "Only service and user tokens can be created here",
                    location="body",
                    field="token_type",
                )

    @staticmethod
    def check_username(username: str) -> None:
        """The user name is one the platform allows."""
        if len(username) > 64 or not USERNAME_RE.match(username):
            raise InputError(f"Invalid username: {username!r}", field="username")

    def known_scopes(self, scopes: Iterable[str]) -> list[str]:
        """The scopes, sorted and unique, if every one is known."""
        wanted = set(scopes)
        unknown = wanted - self._known
        if unknown:
            raise InputError(
                f"Unknown scopes: {', '.join(sorted(unknown))}",
                location="body",
                field="scopes",
            )
        return sorted(wanted)

    def grantable_scopes(self, auth: TokenData, scopes: Iterable[str]) -> list[str]:
        """Known scopes that the caller may put in a token (its own, unless admin)."""
        known = self.known_scopes(scopes)
        if ADMIN_SCOPE not in auth.scopes:
            excess = set(known) - auth.scopes
            if excess:
                raise InsufficientScopeError(
                    "You cannot grant scopes you do not have: "
                    + ", ".join(sorted(excess))
                )
        return known

    @staticmethod
    def future_expiry(expires: datetime | None) -> datetime | None:
        """The expiry in UTC, which must be in the future (or none)."""
        if expires is None:
            return None
        expires = as_utc(expires)
        if expires <= datetime.now(UTC):
            raise InputError(
                "Expiry must be in the future", location="body", field="expires"
            )
        return expires

    @staticmethod
    def name_taken(name: str) -> InputError:
        """The error for a duplicate token name."""
        return InputError(
            f"You already have a token named {name!r}",
            location="body",
            field="token_name",
        )
