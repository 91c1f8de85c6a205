"""Token logic: issuing, validating, delegating, editing and revoking tokens.

INTERFACE SKELETON. Method signatures and docstrings are the contract that
the handlers code against; bodies are filled in by the token-core work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..models.history import TokenChangeHistoryEntry
from ..models.token import AdminTokenRequest, Token, TokenData, TokenInfo, UserTokenModifyRequest, UserTokenRequest
from ..models.userinfo import UserInfo

__all__ = ["TokenService"]


class TokenService:
    """Everything that can happen to a token, with its authorization rules.

    Every method that acts for a caller takes the caller's ``auth``
    (:class:`TokenData`) and the client ``ip_address`` so that changes are
    recorded with their actor, and raises
    :class:`~rsp_gateway.exceptions.PermissionDeniedError` /
    :class:`~rsp_gateway.exceptions.NotFoundError` /
    :class:`~rsp_gateway.exceptions.InputError` for what the caller may not
    do or asked wrongly.
    """

    async def validate(self, token: Token) -> TokenData | None:
        """Return the data of a valid token, or `None`.

        `None` for unknown, wrong-secret, expired or revoked tokens. The
        secret is compared in constant time against its keyed hash. Answers
        come from the cache when possible; revocation invalidates the cache
        of every process at once. Records last use (batched).
        """
        raise NotImplementedError

    async def create_session_token(self, user: UserInfo, scopes: list[str], *, ip_address: str | None) -> Token:
        """Issue the session token of a browser login."""
        raise NotImplementedError

    async def create_user_token(
        self, auth: TokenData, username: str, request: UserTokenRequest, *, ip_address: str | None
    ) -> Token:
        """Issue a user token for ``username``.

        The caller must be ``username`` with ``user:token``, or hold
        ``admin:token``. Scopes must be known and (for non-admins) a subset
        of the caller's; expiry must be in the future; names are unique per
        user.
        """
        raise NotImplementedError

    async def create_admin_token(
        self, auth: TokenData, request: AdminTokenRequest, *, ip_address: str | None
    ) -> Token:
        """Issue a service (``bot-*`` users only) or user token as an admin.

        The caller must hold ``admin:token``.
        """
        raise NotImplementedError

    async def get_notebook_token(
        self, parent: TokenData, *, ip_address: str | None, minimum_lifetime: timedelta | None = None
    ) -> Token:
        """Return a notebook token, child of ``parent``, reusing a live one.

        An existing child with at least ``minimum_lifetime`` left is reused.
        The child never outlives nor out-scopes its parent.
        """
        raise NotImplementedError

    async def get_internal_token(
        self,
        parent: TokenData,
        *,
        service: str,
        scopes: list[str],
        ip_address: str | None,
        minimum_lifetime: timedelta | None = None,
    ) -> Token:
        """Return an internal token for ``service`` with ``scopes``, reusing a live one.

        ``scopes`` must be a subset of the parent's (the ingress asks only for
        the intersection).
        """
        raise NotImplementedError

    async def get_token_info(self, auth: TokenData, username: str, key: str) -> TokenInfo:
        """Return one token's metadata (its owner or ``admin:token``)."""
        raise NotImplementedError

    async def info_for(self, data: TokenData) -> TokenInfo:
        """Return the metadata of the presented token itself."""
        raise NotImplementedError

    async def list_tokens(self, auth: TokenData, username: str) -> list[TokenInfo]:
        """List a user's tokens (its owner or ``admin:token``)."""
        raise NotImplementedError

    async def modify_token(
        self,
        auth: TokenData,
        username: str,
        key: str,
        request: UserTokenModifyRequest,
        *,
        ip_address: str | None,
    ) -> TokenInfo:
        """Change a user token's name, scopes or expiry, recording the change."""
        raise NotImplementedError

    async def revoke_token(self, auth: TokenData, username: str, key: str, *, ip_address: str | None) -> None:
        """Revoke a token and, recursively, its children; effective at once everywhere."""
        raise NotImplementedError

    async def revoke_session(self, data: TokenData, *, ip_address: str | None) -> None:
        """Revoke the caller's own session token and its children (logout)."""
        raise NotImplementedError

    async def get_change_history(
        self,
        auth: TokenData,
        *,
        username: str | None = None,
        key: str | None = None,
        token_type: str | None = None,
        ip_address: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[TokenChangeHistoryEntry], int, str | None, str | None]:
        """Return history entries, total count, and next/previous cursors.

        Without ``username`` the caller must hold ``admin:token``
        (admin-wide history). Newest first.
        """
        raise NotImplementedError

    async def expire_tokens(self) -> int:
        """Delete expired tokens, recording ``expire`` history; return how many."""
        raise NotImplementedError

    async def trim_history(self) -> int:
        """Delete history older than the retention period; return how many."""
        raise NotImplementedError
