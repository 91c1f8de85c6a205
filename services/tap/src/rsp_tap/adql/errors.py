"""Errors of the ADQL translator: all user mistakes, never server faults.

Every error carries a message the user can act on and, when known, the line
and column (1-based) of the query where the problem is. The protocol layer
turns any :class:`AdqlError` into a DALI error document (HTTP 400).
"""

from __future__ import annotations

__all__ = [
    "AdqlError",
    "AdqlReferenceError",
    "AdqlSyntaxError",
    "AdqlUnsupportedError",
]


class AdqlError(Exception):
    """The query cannot be run as written."""

    def __init__(
        self, message: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is not None and self.column is not None:
            return f"{self.message} (line {self.line}, column {self.column})"
        return self.message


class AdqlSyntaxError(AdqlError):
    """The text is not ADQL: a misspelling, a missing clause, stray input."""


class AdqlReferenceError(AdqlError):
    """A table, column or function the query names does not exist or is ambiguous."""


class AdqlUnsupportedError(AdqlError):
    """Valid ADQL that this service does not run (or refuses, like other schemas)."""
