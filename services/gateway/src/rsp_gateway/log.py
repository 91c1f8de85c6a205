"""Structured logging: JSON lines in production, console lines locally.

Every line carries the request id (bound per request by
:class:`RequestIdMiddleware`). Token secrets never reach a log: a last
processor rewrites anything shaped like a gateway token to its key.
Standard-library records (uvicorn, SQLAlchemy) go through the same
renderer so that the output is uniform.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

import structlog
from rsp_platform.requestid import RequestIdMiddleware
from structlog.typing import EventDict, Processor, WrappedLogger

from .config import Config

__all__ = ["RequestIdMiddleware", "configure_logging", "redact_tokens"]

_TOKEN_RE = re.compile(r"gt-([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{1,22}")


def redact_tokens(value: str) -> str:
    """Replace the secret of every gateway token in ``value``."""
    return _TOKEN_RE.sub(r"gt-\1.<redacted>", value)


def _redact_processor(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    for name, value in event_dict.items():
        if isinstance(value, str) and "gt-" in value:
            event_dict[name] = redact_tokens(value)
    return event_dict


def _stream(to_stderr: bool) -> TextIO:
    # Looked up at each write: test runners replace the streams.
    return sys.stderr if to_stderr else sys.stdout


class _LineLogger:
    """Writes each rendered line to the current standard output (or error)."""

    def __init__(self, to_stderr: bool) -> None:
        self._to_stderr = to_stderr

    def msg(self, message: str) -> None:
        stream = _stream(self._to_stderr)
        stream.write(message + "\n")
        stream.flush()

    debug = info = warning = warn = error = critical = exception = log = msg


class _LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that follows ``sys.stdout``/``sys.stderr`` if replaced."""

    def __init__(self, to_stderr: bool) -> None:
        super().__init__()
        self._to_stderr = to_stderr

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = _stream(self._to_stderr)
        super().emit(record)


def configure_logging(config: Config, *, to_stderr: bool = False) -> None:
    """Configure structlog and the standard library from the configuration.

    The server logs to standard output; the CLI to standard error, keeping
    its output (tokens) clean for scripts.
    """
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
    shared.append(_redact_processor)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_args: _LineLogger(to_stderr),
        # Loggers follow a later configure() (tests, the CLI); the hot path
        # logs only refusals, so the saving of caching does not matter.
        cache_logger_on_first_use=False,
    )
    handler = _LineHandler(to_stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LineHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Render uvicorn's records like ours, but leave a logger that
        # uvicorn turned off (``--no-access-log``) off: access logs cost
        # time on the ingress hot path.
        uvicorn_logger = logging.getLogger(name)
        if uvicorn_logger.handlers:
            uvicorn_logger.handlers.clear()
            uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(level)
    logging.getLogger("alembic.runtime.migration").setLevel(max(level, logging.WARNING))
