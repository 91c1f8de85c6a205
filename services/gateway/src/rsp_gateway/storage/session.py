"""The encrypted session cookie."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from pydantic import ValidationError

from ..models.session import SessionState

__all__ = ["SessionCookieCodec"]


class SessionCookieCodec:
    """Encrypts and authenticates :class:`SessionState` for the cookie.

    Fernet (AES-CBC + HMAC) gives confidentiality and integrity; the key is
    derived from the configured secret with SHA-256 so that any strong
    string can be configured, not only a Fernet-formatted key.
    """

    def __init__(self, secret: str) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
        self._fernet = Fernet(key)

    def encode(self, state: SessionState) -> str:
        """Encrypt the state into a cookie value.

        The base64 padding is dropped: ``=`` is not a legal cookie octet, and
        with it Starlette would quote the value, which readers of the raw
        ``Cookie`` header (the ingress subrequest) would then have to undo.
        """
        data = state.model_dump_json(exclude_none=True).encode()
        return self._fernet.encrypt(data).decode().rstrip("=")

    def decode(self, value: str | None) -> SessionState:
        """Decrypt a cookie value; missing, forged or stale gives an empty state."""
        value = (value or "").strip().strip('"').rstrip("=")
        if not value:
            return SessionState()
        padded = value + "=" * (-len(value) % 4)
        try:
            data = self._fernet.decrypt(padded.encode())
            return SessionState.model_validate_json(data)
        except (InvalidToken, ValidationError, ValueError):
            return SessionState()
