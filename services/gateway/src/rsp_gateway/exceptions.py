"""Errors of the gateway, each with the HTTP status it maps to.

Handlers never build error responses themselves: an exception handler in
:mod:`rsp_gateway.main` turns these into FastAPI-style ``{"detail": [...]}``
bodies, so no user mistake ever becomes a 500.
"""

from __future__ import annotations

from typing import ClassVar

from rsp_platform.settings import ConfigurationError

__all__ = [
    "ConfigurationError",
    "DatabaseSchemaError",
    "GatewayError",
    "InputError",
    "InsufficientScopeError",
    "InvalidCSRFError",
    "InvalidReturnURLError",
    "InvalidTokenError",
    "LoginFailedError",
    "LoginFormError",
    "NoScopesError",
    "NotFoundError",
    "PermissionDeniedError",
    "UpstreamCredentialError",
    "UpstreamError",
]


class GatewayError(Exception):
    """Base of the errors a user or client can cause or be told about."""

    status_code: ClassVar[int] = 400
    error: ClassVar[str] = "invalid_request"

    def __init__(
        self, message: str, *, location: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.field = field

    def to_detail(self) -> list[dict[str, object]]:
        """The body of the error response, in FastAPI's shape."""
        detail: dict[str, object] = {"msg": self.message, "type": self.error}
        if self.location:
            detail["loc"] = (
                [self.location, self.field] if self.field else [self.location]
            )
        return [detail]


class InputError(GatewayError):
    """The request is malformed or asks for something impossible."""

    status_code = 422
    error = "invalid_input"


class LoginFormError(InputError):
    """A login form (development identity provider) has invalid fields."""

    def __init__(self, errors: dict[str, str]) -> None:
        message = "; ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(message, location="body")
        self.errors = errors
        """Message for each invalid field, by field name."""


class InvalidReturnURLError(InputError):
    """A return URL (``rd``) is not on the platform's own host."""

    status_code = 400
    error = "invalid_return_url"


class InvalidTokenError(GatewayError):
    """No valid credential was presented (missing, malformed, expired, revoked)."""

    status_code = 401
    error = "invalid_token"


class InvalidCSRFError(GatewayError):
    """A cookie-authenticated write came without a matching CSRF token."""

    status_code = 403
    error = "invalid_csrf"


class PermissionDeniedError(GatewayError):
    """The caller is authenticated but may not do this."""

    status_code = 403
    error = "permission_denied"


class InsufficientScopeError(PermissionDeniedError):
    """The credential lacks a scope the request needs."""

    error = "insufficient_scope"


class NotFoundError(GatewayError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    status_code = 404
    error = "not_found"


class LoginFailedError(GatewayError):
    """Login could not complete (bad state, refused by GitHub, no scopes)."""

    status_code = 403
    error = "login_failed"


class NoScopesError(LoginFailedError):
    """The user logged in but none of their groups grants any scope."""

    error = "no_scopes"

    def __init__(self, message: str, *, username: str, groups: list[str]) -> None:
        super().__init__(message)
        self.username = username
        self.groups = groups


class UpstreamError(GatewayError):
    """GitHub or another service the gateway depends on failed."""

    status_code = 502
    error = "upstream_error"


class UpstreamCredentialError(GatewayError):
    """GitHub refuses (401) the access token kept for a session: it was revoked.

    Unlike :class:`UpstreamError`, trying again will not help.
    """

    status_code = 401
    error = "upstream_credential_revoked"


class DatabaseSchemaError(Exception):
    """The database schema does not match this version of the code."""
