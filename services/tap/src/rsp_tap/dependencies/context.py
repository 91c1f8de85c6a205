"""The per-request context that reaches every handler, and the user."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from structlog.stdlib import BoundLogger

from ..config import Config
from ..exceptions import AuthenticationError
from ..factory import Factory, ProcessContext

__all__ = ["Context", "RequestContext", "User", "context_dependency", "user_dependency"]

USER_HEADER = "X-Auth-Request-User"
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")


@dataclass(slots=True)
class RequestContext:
    """What a handler needs about the request and the process."""

    request: Request
    config: Config
    factory: Factory
    logger: BoundLogger


def _process_context(request: Request) -> ProcessContext:
    context: ProcessContext = request.app.state.process_context
    return context


async def context_dependency(
    request: Request, process: Annotated[ProcessContext, Depends(_process_context)]
) -> RequestContext:
    """Build the request context."""
    logger: BoundLogger = structlog.get_logger("rsp_tap").bind(
        path=request.url.path, method=request.method
    )
    return RequestContext(
        request=request, config=process.config, factory=Factory(process), logger=logger
    )


async def user_dependency(request: Request) -> str:
    """The user the ingress authenticated (``X-Auth-Request-User``).

    The header is trusted only because the ingress always replaces it; with
    ``default_user`` configured (local tests) a request without it is that user.

    Raises
    ------
    AuthenticationError
        If there is no (well-formed) user.
    """
    config: Config = request.app.state.config
    user = request.headers.get(USER_HEADER)
    if user is None and config.default_user is not None:
        return config.default_user
    if user is None:
        raise AuthenticationError(
            "Authentication required: no user came with the request"
        )
    if not _USER_RE.match(user):
        raise AuthenticationError("The request's user name is malformed")
    return user


Context = Annotated[RequestContext, Depends(context_dependency)]
"""The request context, as a handler parameter type."""

User = Annotated[str, Depends(user_dependency)]
"""The authenticated user, as a handler parameter type."""
