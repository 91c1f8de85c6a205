"""Find secret values in rendered objects (the platform package's scanner).

The heuristics live in :mod:`rsp_platform.secretscan`, shared with
``rsp-platform env lint``; the chart tests import them from here.
"""

from __future__ import annotations

from rsp_platform.secretscan import (
    KEY_QUALIFIERS,
    SECRET_VALUE_PATTERNS,
    SECRET_WORDS,
    env_secret_values,
    find_secret_values,
    name_suggests_secret,
    value_looks_secret,
)

__all__ = [
    "KEY_QUALIFIERS",
    "SECRET_VALUE_PATTERNS",
    "SECRET_WORDS",
    "env_secret_values",
    "find_secret_values",
    "name_suggests_secret",
    "value_looks_secret",
]
