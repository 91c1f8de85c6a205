"""The gateway's logging: :mod:`rsp_platform.logconfig` with token redaction.

Token secrets never reach a log: a last processor rewrites anything shaped
like a gateway token to its key.
"""

from __future__ import annotations

import re

import rsp_platform.logconfig
from structlog.typing import EventDict, WrappedLogger

from .config import Config

__all__ = ["configure_logging", "redact_tokens"]

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


def configure_logging(config: Config, *, to_stderr: bool = False) -> None:
    """Configure structlog and the standard library from the configuration.

    The server logs to standard output; the CLI to standard error, keeping
    its output (tokens) clean for scripts. Token secrets are redacted last,
    after every other processor.
    """
    rsp_platform.logconfig.configure_logging(
        level=config.log_level,
        json=config.log_json,
        to_stderr=to_stderr,
        processors=[_redact_processor],
    )
