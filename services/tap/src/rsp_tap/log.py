"""Structured logging: JSON lines in production, console lines locally.

Standard-library records (uvicorn, SQLAlchemy) go through the same renderer,
and every request's lines carry its request id.
"""

from __future__ import annotations

import logging
import sys

import structlog
from rsp_platform.requestid import RequestIdMiddleware
from structlog.typing import Processor

from .config import Config

__all__ = ["RequestIdMiddleware", "configure_logging"]


def configure_logging(config: Config, *, to_stderr: bool = False) -> None:
    """Configure structlog and the standard library from the configuration."""
    level = logging.getLevelNamesMapping()[config.log_level]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if config.log_json:
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.dict_tracebacks)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    stream = sys.stderr if to_stderr else sys.stdout
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    handler.set_name("rsp-tap")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "rsp-tap"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        if uvicorn_logger.handlers:
            uvicorn_logger.handlers.clear()
            uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(level)
    logging.getLogger("alembic.runtime.migration").setLevel(max(level, logging.WARNING))
