"""The per-request context that reaches every handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from structlog.stdlib import BoundLogger

from ..config import Config
from ..factory import Factory, ProcessContext

__all__ = ["RequestContext", "context_dependency"]


@dataclass(slots=True)
class RequestContext:
    """What a handler needs about the request and the process."""

    request: Request
    config: Config
    factory: Factory
    logger: BoundLogger
    ip_address: str | None
    """Client address (uvicorn resolves X-Forwarded-For from trusted proxies)."""


def _process_context(request: Request) -> ProcessContext:
    context: ProcessContext = request.app.state.process_context
    return context


async def context_dependency(
    request: Request, process: Annotated[ProcessContext, Depends(_process_context)]
) -> RequestContext:
    """Build the request context."""
    ip = request.client.host if request.client else None
    logger: BoundLogger = structlog.get_logger("rsp_gateway").bind(
        path=request.url.path, method=request.method, ip=ip
    )
    return RequestContext(
        request=request,
        config=process.config,
        factory=Factory(process),
        logger=logger,
        ip_address=ip,
    )
