"""Reading credentials from a request: bearer, HTTP Basic, or session cookie."""

from __future__ import annotations

import base64
import binascii

from ..exceptions import InvalidTokenError
from ..models.token import Token

__all__ = ["token_from_authorization"]


def token_from_authorization(header: str | None) -> Token | None:
    """Extract a gateway token from an ``Authorization`` header.

    ``Bearer <token>``, or HTTP Basic with the token as password (user name
    ignored) or as user name with the password ``x-oauth-basic``.

    Returns
    -------
    Token or None
        `None` if there is no header or it is not of a kind we read (a
        browser's cookie may still authenticate the request).

    Raises
    ------
    InvalidTokenError
        If the header is of a kind we read but holds no well-formed token.
    """
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    match scheme.lower():
        case "bearer":
            candidate = value
        case "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise InvalidTokenError("Invalid Basic authorization header") from None
            user, sep, password = decoded.partition(":")
            if not sep:
                raise InvalidTokenError("Invalid Basic authorization header")
            candidate = user if password == "x-oauth-basic" else password
        case _:
            return None
    try:
        return Token.from_str(candidate)
    except ValueError:
        raise InvalidTokenError("Token is malformed") from None
