"""Errors of the TAP service, each with the HTTP status it maps to.

Handlers never build error responses themselves: an exception handler in
:mod:`rsp_tap.main` turns every :class:`TapError` (and the translator's
``AdqlError``) into a DALI error document, so no user mistake is ever a 500.
"""

from __future__ import annotations

from typing import ClassVar

from rsp_platform.settings import ConfigurationError

__all__ = [
    "AuthenticationError",
    "BackendUnavailableError",
    "ConfigurationError",
    "DatabaseSchemaError",
    "JobNotFoundError",
    "NotFoundError",
    "PhaseConflictError",
    "QueryTimeoutError",
    "ResultNotFoundError",
    "TapError",
    "UploadError",
    "UploadTooLargeError",
    "UploadUrlRefusedError",
    "UsageError",
]


class TapError(Exception):
    """Base of the errors a user or client can cause or be told about."""

    status_code: ClassVar[int] = 400
    transient: ClassVar[bool] = False
    """Whether trying again later may succeed (UWS ``errorSummary`` type)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(TapError):
    """A parameter is missing, malformed or out of range (DALI usage error)."""


class AuthenticationError(TapError):
    """The request came without the user the ingress should have set."""

    status_code = 401


class NotFoundError(TapError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    status_code = 404


class JobNotFoundError(NotFoundError):
    """No such job of this user: another user's job answers the same."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"No job {job_id!r}")
        self.job_id = job_id


class ResultNotFoundError(NotFoundError):
    """The job has no such result (not finished, failed, or destroyed)."""


class PhaseConflictError(TapError):
    """The job's phase does not allow this change (e.g. parameters once run)."""

    status_code = 409


class QueryTimeoutError(TapError):
    """A query ran longer than it was allowed."""

    status_code = 400


class UploadError(UsageError):
    """An uploaded table cannot be used (not a VOTable, bad name, bad URL)."""


class UploadTooLargeError(UploadError):
    """An uploaded table is over the configured size or row limit."""

    status_code = 413


class UploadUrlRefusedError(UploadError):
    """An upload URL reaches an address the service does not fetch from
    (loopback, private, link-local, a metadata service: no SSRF)."""


class BackendUnavailableError(TapError):
    """The database or the result storage cannot be reached right now."""

    status_code = 503
    transient = True


class DatabaseSchemaError(Exception):
    """The job store's schema does not match this version of the code."""
