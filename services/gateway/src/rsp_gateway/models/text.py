"""Free text fields of requests: bounded, and without control characters.

Control characters (NUL above all, which PostgreSQL cannot store) have no
place in names and addresses; refusing them here makes them a 422 rather
than a database error.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

__all__ = ["PersonText", "TokenName"]


def _no_control_characters(value: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters")
    return value


TokenName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_no_control_characters),
]
"""The user-given name of a token."""

PersonText = Annotated[
    str,
    StringConstraints(max_length=256),
    AfterValidator(_no_control_characters),
]
"""A full name or email address (the database keeps up to 256 characters)."""
