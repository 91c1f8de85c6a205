"""The GitHub access tokens kept for sessions: encryption and SQL.

The access token is encrypted with Fernet under a key derived from the
token hash key with an HMAC label of its own, so that the database never
holds it in clear and no other use of that key can decrypt it. Rotating
the token hash key invalidates every gateway token anyway; the stored
GitHub tokens become unreadable with them.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..schema import GitHubCredentialRecord, TokenRecord

__all__ = [
    "DueCredential",
    "GitHubCredentialStore",
    "GitHubTokenCipher",
    "UnreadableCredentialError",
]

_LABEL = b"rsp-gateway github access token"


class UnreadableCredentialError(Exception):
    """A stored GitHub token cannot be decrypted (other key, or corrupted)."""


class GitHubTokenCipher:
    """Encrypts GitHub access tokens for the database, and decrypts them."""

    def __init__(self, secret: str) -> None:
        derived = hmac.digest(secret.encode(), _LABEL, "sha256")
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, token: SecretStr) -> str:
        """The ciphertext of ``token``, as text."""
        return self._fernet.encrypt(token.get_secret_value().encode()).decode()

    def decrypt(self, sealed: str) -> SecretStr:
        """The token sealed by `encrypt`.

        Raises
        ------
        UnreadableCredentialError
            If ``sealed`` was not made with this key or was altered.
        """
        try:
            return SecretStr(self._fernet.decrypt(sealed.encode()).decode())
        except (InvalidToken, ValueError):
            raise UnreadableCredentialError("stored GitHub token unreadable") from None


@dataclass(frozen=True, slots=True)
class DueCredential:
    """A session claimed for a refresh, with its sealed GitHub token."""

    key: str
    """Key of the session token."""

    sealed: str
    """The encrypted GitHub access token."""

    claim: datetime
    """The ``claimed_until`` this refresher set: proof that it still holds it."""


class GitHubCredentialStore:
    """Reads and writes ``github_credential`` within the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, key: str, sealed: str, refreshed: datetime) -> None:
        """Keep the sealed GitHub token of the session ``key``."""
        self._session.add(
            GitHubCredentialRecord(
                token=key, encrypted_token=sealed, refreshed=refreshed
            )
        )

    async def get(self, key: str) -> GitHubCredentialRecord | None:
        """The credential of the session ``key``, if it has one."""
        return await self._session.get(GitHubCredentialRecord, key)

    async def get_for_update(self, key: str) -> GitHubCredentialRecord | None:
        """The credential of the session ``key``, locked until the transaction ends."""
        stmt = (
            select(GitHubCredentialRecord)
            .where(GitHubCredentialRecord.token == key)
            .with_for_update()
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def claim_due(
        self, *, now: datetime, refreshed_before: datetime, until: datetime, limit: int
    ) -> list[DueCredential]:
        """Claim up to ``limit`` live sessions last refreshed before a time.

        Rows another transaction holds are skipped (``FOR UPDATE SKIP
        LOCKED`` on PostgreSQL; SQLite runs one writer at a time), and each
        row taken gets ``claimed_until = until``, so that no other refresher
        picks it until then. The oldest refreshes come first.
        """
        cred = GitHubCredentialRecord
        stmt = (
            select(cred)
            .join(TokenRecord, TokenRecord.key == cred.token)
            .where(
                cred.refreshed <= refreshed_before,
                or_(cred.claimed_until.is_(None), cred.claimed_until <= now),
                or_(TokenRecord.expires.is_(None), TokenRecord.expires > now),
            )
            .order_by(cred.refreshed, cred.token)
            .limit(limit)
            .with_for_update(skip_locked=True, of=cred)
        )
        records = list((await self._session.execute(stmt)).scalars())
        for record in records:
            record.claimed_until = until
        await self._session.flush()
        return [DueCredential(r.token, r.encrypted_token, until) for r in records]
