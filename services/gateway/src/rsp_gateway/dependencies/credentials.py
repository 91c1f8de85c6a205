"""Reading a gateway token from the ``Authorization`` header.

One reader for the REST API and the ingress subrequest, so that both accept
exactly the same credentials.
"""

from __future__ import annotations

import base64
import binascii

from ..exceptions import InvalidTokenError
from ..models.token import Token

__all__ = ["token_from_authorization"]

_OAUTH_BASIC = "x-oauth-basic"


def _gateway_token(value: str) -> Token | None:
    """A token if ``value`` is meant as a gateway token; raises if it is mangled."""
    if not value.startswith("gt-"):
        return None
    try:
        return Token.from_str(value)
    except ValueError:
        raise InvalidTokenError("Token is malformed") from None


def token_from_authorization(header: str | None) -> Token | None:
    """The gateway token in an ``Authorization`` header, `None` if it holds none.

    ``Bearer <token>``, or HTTP Basic with the token as password (any user
    name) or as user name with the password ``x-oauth-basic``. A header that
    holds no gateway token (another scheme, or a credential not starting with
    ``gt-``) is not the gateway's: `None`, and the ingress passes it on to the
    service untouched.

    Raises
    ------
    InvalidTokenError
        If the header holds something meant as a gateway token (``gt-``)
        that is not well formed: truncated, padded or altered.
    """
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    match scheme.lower():
        case "bearer":
            return _gateway_token(value)
        case "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, _, password = decoded.partition(":")
            if password == _OAUTH_BASIC:
                return _gateway_token(user)
            return _gateway_token(password)
        case _:
            return None
