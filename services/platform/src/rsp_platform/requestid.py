"""A request id on every log line of a request, shared by the web services."""

from __future__ import annotations

import re
import secrets

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RequestIdMiddleware"]

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Binds a request id (``X-Request-ID`` if sane, else random) to every log line.

    Pure ASGI, so it adds next to nothing to the gateway's ingress hot path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request with its id bound to structlog's context."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID_RE.match(candidate):
                    request_id = candidate
                break
        with structlog.contextvars.bound_contextvars(
            request_id=request_id or secrets.token_hex(8)
        ):
            await self.app(scope, receive, send)
