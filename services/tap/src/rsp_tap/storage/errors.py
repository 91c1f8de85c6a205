"""Errors a query backend raises, as the service's typed errors.

They subclass :mod:`rsp_tap.exceptions`, so the handlers already map them
to DALI error documents and HTTP statuses. Their messages are written for
the user and never carry database internals: no SQL, no names of schemas,
tables or roles the user cannot see.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ..exceptions import BackendUnavailableError, TapError
from ..exceptions import QueryTimeoutError as ServiceTimeoutError

__all__ = [
    "PGSPHERE_MESSAGES",
    "BackendUnavailableError",
    "DatabaseInternalError",
    "QueryCancelledError",
    "QueryFailedError",
    "QueryTimeoutError",
    "geometry_notice_error",
    "query_error",
]


class QueryTimeoutError(ServiceTimeoutError):
    """The query ran past its statement timeout and was stopped."""


class QueryCancelledError(TapError):
    """The query was stopped on request (an async job's ABORT)."""


class QueryFailedError(TapError):
    """The database refused or could not finish the query."""


class DatabaseInternalError(TapError):
    """The database failed inside (SQLSTATE XX000) for a reason not known to
    come from the query: a service error, answered without details."""

    status_code = 500

    def __init__(self, message: str, *, detail: str) -> None:
        super().__init__(message)
        self.detail = detail
        """The database's own message, for the service's log only."""


_DATA_EXCEPTIONS = "22"
"""SQLSTATE class of data exceptions: division by zero, out of range values,
bad input to a function. Their messages only speak of values."""

_GENERIC: dict[str, str] = {
    "42501": "The query asked for data it is not allowed to read",
    "42P01": "The query refers to a table that does not exist",
    "42703": "The query refers to a column that does not exist",
    "42883": "The query uses a function or operator with arguments of the wrong types",
    "53": "The query needs more memory or disk than the service allows; ask for less",
    "54": "The query is too complex for the database; simplify it",
    "25006": "The query tried to change data; only reading is possible",
}
"""User-safe messages by SQLSTATE (or its class)."""

_MAX_MESSAGE = 300

_INTERNAL = "XX000"
"""SQLSTATE of internal errors: pgsphere reports bad geometry with it."""

_POLYGON_TOO_FEW = "Invalid POLYGON: it needs at least three distinct vertices"
_POLYGON_180 = (
    "Invalid POLYGON: two consecutive vertices are 180 degrees apart, so the"
    " edge between them is undefined; add a vertex between them"
)
PGSPHERE_MESSAGES: tuple[tuple[str, str], ...] = (
    ("more than two points needed", _POLYGON_TOO_FEW),
    ("at least 3 points required", _POLYGON_TOO_FEW),
    (
        "a line segment overlaps or polygon too large",
        "Invalid POLYGON: its edges cross each other, or it covers more than a"
        " hemisphere; give the vertices in order around a simple polygon",
    ),
    ("polygon segment length must be not equal 180 degrees", _POLYGON_180),
    ("distance between first and last point is 180deg", _POLYGON_180),
    ("distance of previous point is 180deg", _POLYGON_180),
    ("too much points", "Invalid POLYGON: it has too many vertices"),
    (
        "radius must be not greater than 90 degrees",
        "Invalid CIRCLE: the radius must be between 0 and 90 degrees",
    ),
    (
        "radius must be less than 90 degrees",
        "Invalid geometry: a radius must be less than 90 degrees",
    ),
    (
        "path segment length must be not equal 180 degrees",
        "Invalid geometry: two consecutive points of a path are 180 degrees apart",
    ),
    (
        "length of line must be not equal 180 degrees",
        "Invalid geometry: a line 180 degrees long is undefined",
    ),
    ("length of line must be >= 0", "Invalid geometry: a line has a negative length"),
    (
        "more than one point needed",
        "Invalid geometry: a path needs at least two points",
    ),
    (
        "parse error",
        "Invalid geometry: a value could not be read as a point, circle or polygon",
    ),
)
"""pgsphere's messages (lower case, as found in its error text) that say
what is wrong with a geometry of the query, and what the user is told."""


def query_error(error: asyncpg.PostgresError, *, timeout: float) -> TapError:
    """The typed error for a database error, with a user-safe message.

    Parameters
    ----------
    error
        What asyncpg raised.
    timeout
        The query's timeout in seconds (for the message of a timeout).
    """
    state = error.sqlstate or ""
    if isinstance(error, asyncpg.QueryCanceledError):
        if "statement timeout" in str(error):
            return QueryTimeoutError(
                f"The query did not finish within {timeout:g} seconds and was stopped"
            )
        return QueryCancelledError("The query was stopped on request")
    if state.startswith(("08", "57P")):
        return BackendUnavailableError("The database is not available; try again later")
    if state == _INTERNAL:
        return _internal_error(error)
    if state.startswith(_DATA_EXCEPTIONS):
        detail = " ".join(str(error).split())[:_MAX_MESSAGE]
        return QueryFailedError(f"The query could not be evaluated: {detail}")
    known = _GENERIC.get(state) or _GENERIC.get(state[:2])
    unknown = f"The database could not run the query (SQLSTATE {state or 'unknown'})"
    return QueryFailedError(known or unknown)


def _internal_error(error: asyncpg.PostgresError) -> TapError:
    """A known pgsphere complaint about the query (400), or a service error (500)."""
    message = _pgsphere_message(str(error))
    if message is not None:
        return QueryFailedError(message)
    text = " ".join(str(error).split())
    return DatabaseInternalError(
        "The database failed with an internal error while running the query"
        " (SQLSTATE XX000); this is a fault of the service, not of the query."
        " Try again later or report it",
        detail=text[:_MAX_MESSAGE],
    )


def _pgsphere_message(text: str) -> str | None:
    lowered = " ".join(text.split()).lower()
    return next((m for f, m in PGSPHERE_MESSAGES if f in lowered), None)


def geometry_notice_error(notices: Sequence[str]) -> QueryFailedError | None:
    """The error for pgsphere's notices about an invalid geometry, if any.

    pgsphere's ``spoly`` aggregate (a POLYGON of points or columns) does not
    fail on a bad polygon: it says why in a NOTICE and gives NULL, which
    would silently match nothing. The first notice it explains is the error.
    """
    for notice in notices:
        message = _pgsphere_message(notice)
        if message is not None:
            return QueryFailedError(message)
    return None
