"""Authentication of REST API callers: token or session cookie plus CSRF."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends

from ..exceptions import InvalidCSRFError, InvalidTokenError
from ..models.token import Token, TokenData
from .context import RequestContext, context_dependency
from .credentials import token_from_authorization

__all__ = ["Authenticated", "authenticate", "authenticate_session"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def authenticate(
    context: Annotated[RequestContext, Depends(context_dependency)],
) -> TokenData:
    """Authenticate the caller of an API route.

    A token in ``Authorization`` wins; otherwise the session cookie, and then
    a write must carry ``X-CSRF-Token`` equal to the session's CSRF token.
    """
    request = context.request
    token = token_from_authorization(request.headers.get("Authorization"))
    from_cookie = False
    if token is None:
        state = context.factory.context.cookie_codec.decode(
            request.cookies.get(context.config.cookie_name)
        )
        if not state.token:
            raise InvalidTokenError("Authentication required")
        try:
            token = Token.from_str(state.token)
        except ValueError:
            raise InvalidTokenError("Session is invalid") from None
        from_cookie = True
        if request.method not in _SAFE_METHODS:
            sent = request.headers.get("X-CSRF-Token", "")
            if not state.csrf or not hmac.compare_digest(
                sent.encode(), state.csrf.encode()
            ):
                raise InvalidCSRFError("Missing or wrong X-CSRF-Token header")
    data = await context.factory.create_token_service().validate(token)
    if data is None:
        raise InvalidTokenError(
            "Session expired or revoked"
            if from_cookie
            else "Token is invalid, expired or revoked"
        )
    context.logger = context.logger.bind(user=data.username, token=data.key)
    return data


Authenticated = Annotated[TokenData, Depends(authenticate)]
"""A handler parameter for the authenticated caller's token data."""


async def authenticate_session(
    context: Annotated[RequestContext, Depends(context_dependency)],
) -> TokenData:
    """Authenticate a browser page by its session cookie only (no CSRF: GET pages)."""
    state = context.factory.context.cookie_codec.decode(
        context.request.cookies.get(context.config.cookie_name)
    )
    if not state.token or not Token.is_token(state.token):
        raise InvalidTokenError("Authentication required")
    data = await context.factory.create_token_service().validate(
        Token.from_str(state.token)
    )
    if data is None:
        raise InvalidTokenError("Session expired or revoked")
    return data
