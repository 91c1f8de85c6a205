"""Errors a query backend raises, as the service's typed errors.

They subclass :mod:`rsp_tap.exceptions`, so the handlers already map them
to DALI error documents and HTTP statuses. Their messages are written for
the user and never carry database internals: no SQL, no names of schemas,
tables or roles the user cannot see.
"""

from __future__ import annotations

import asyncpg

from ..exceptions import BackendUnavailableError, TapError
from ..exceptions import QueryTimeoutError as ServiceTimeoutError

__all__ = [
    "BackendUnavailableError",
    "QueryCancelledError",
    "QueryFailedError",
    "QueryTimeoutError",
    "query_error",
]


class QueryTimeoutError(ServiceTimeoutError):
    """The query ran past its statement timeout and was stopped."""


class QueryCancelledError(TapError):
    """The query was stopped on request (an async job's ABORT)."""


class QueryFailedError(TapError):
    """The database refused or could not finish the query."""


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
    if state.startswith(_DATA_EXCEPTIONS):
        detail = " ".join(str(error).split())[:_MAX_MESSAGE]
        return QueryFailedError(f"The query could not be evaluated: {detail}")
    known = _GENERIC.get(state) or _GENERIC.get(state[:2])
    unknown = f"The database could not run the query (SQLSTATE {state or 'unknown'})"
    return QueryFailedError(known or unknown)
