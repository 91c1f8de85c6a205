"""Handler of the token management page ``/auth/tokens``.

The page is a shell: ``static/tokens.js`` does the work through the REST
API, authenticated by the session cookie and the CSRF token that
``GET /auth/api/v1/login`` hands out.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ..dependencies.auth import authenticate_session
from ..dependencies.context import RequestContext, context_dependency
from ..exceptions import InvalidTokenError
from .api import API_PREFIX
from .templating import render_page

__all__ = ["TOKENS_PAGE", "router"]

TOKENS_PAGE = "/auth/tokens"
"""Path of the token management page."""

MANAGE_SCOPE = "user:token"
"""Scope a session needs to manage its user's tokens."""

router = APIRouter()


@router.get(TOKENS_PAGE, include_in_schema=False)
async def get_tokens_page(
    context: Annotated[RequestContext, Depends(context_dependency)],
) -> Response:
    try:
        auth = await authenticate_session(context)
    except InvalidTokenError:
        return RedirectResponse(f"/login?rd={quote(TOKENS_PAGE)}", status_code=302)
    if MANAGE_SCOPE not in auth.scopes:
        return render_page(
            context.request,
            "error.html",
            {
                "username": auth.username,
                "heading": "Token management is not allowed",
                "message": (
                    f"Your account does not have the {MANAGE_SCOPE} scope, which is"
                    " needed to create and manage tokens."
                ),
                "hint": (
                    "Ask the platform's administrators for membership of a group"
                    f" that grants {MANAGE_SCOPE}."
                ),
            },
            status_code=403,
        )
    return render_page(
        context.request,
        "tokens.html",
        {"username": auth.username, "api_url": API_PREFIX},
    )
