"""Structured logging of the web services: JSON lines in production, else console.

structlog's lines and the standard library's records (uvicorn, SQLAlchemy)
go through the same processors and renderer, so that the output is uniform
and every line of a request carries its request id (bound by
:class:`rsp_platform.requestid.RequestIdMiddleware`). Lines are written to
whatever ``sys.stdout`` (or ``sys.stderr``) is at the time of the write, so
that test runners that replace the streams see them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TextIO

import structlog
from structlog.typing import Processor

__all__ = ["LOG_LEVELS", "configure_logging"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
"""Level names that :func:`configure_logging` accepts."""


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


def configure_logging(
    *,
    level: str,
    json: bool,
    to_stderr: bool = False,
    processors: Sequence[Processor] = (),
) -> None:
    """Configure structlog and the standard library's root logger.

    Calling it again replaces the previous configuration.

    Parameters
    ----------
    level
        Lowest level logged, one of :data:`LOG_LEVELS`.
    json
        One JSON object a line (production) rather than console lines.
    to_stderr
        Write to standard error rather than standard output (a CLI whose
        output is for scripts).
    processors
        Run on every event, structlog's and the standard library's, after
        the common ones and just before rendering: the last word on what a
        line holds (the gateway's token redaction).

    Raises
    ------
    ValueError
        If ``level`` is not one of :data:`LOG_LEVELS`.
    """
    if level not in LOG_LEVELS:
        msg = f"Unknown log level {level!r}: use one of {', '.join(LOG_LEVELS)}"
        raise ValueError(msg)
    numeric_level = logging.getLevelNamesMapping()[level]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if json:
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.dict_tracebacks)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    shared.extend(processors)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=lambda *_args: _LineLogger(to_stderr),
        # Loggers follow a later configure() (tests, a CLI); the services log
        # little on their hot paths, so the saving of caching does not matter.
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
    root.setLevel(numeric_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Render uvicorn's records like ours, but leave a logger that
        # uvicorn turned off (``--no-access-log``) off: access logs cost
        # time on the gateway's ingress hot path.
        uvicorn_logger = logging.getLogger(name)
        if uvicorn_logger.handlers:
            uvicorn_logger.handlers.clear()
            uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(numeric_level)
    logging.getLogger("alembic.runtime.migration").setLevel(
        max(numeric_level, logging.WARNING)
    )
