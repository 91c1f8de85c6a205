"""Validation of return URLs (``rd``) of the login and logout flows.

A return URL is where the gateway sends the browser afterwards. Accepting any
URL would make the gateway an open redirector that phishing links could
abuse, so only the platform's own origin is allowed.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from ..exceptions import InvalidReturnURLError

__all__ = ["MAX_RETURN_URL_LENGTH", "validate_return_url"]

MAX_RETURN_URL_LENGTH = 4096
"""Longest return URL accepted, in characters."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def validate_return_url(rd: str | None, base_url: str) -> str:
    """Check a return URL and make it absolute.

    Parameters
    ----------
    rd
        The return URL as the client sent it; `None` or empty for the default.
    base_url
        The platform's origin, ``scheme://host[:port]`` (a trailing ``/`` is
        ignored).

    Returns
    -------
    str
        The absolute URL on the platform's origin: ``<base_url>/`` by default,
        ``<base_url><path>`` for a path, or the URL itself (with the scheme
        and host as configured) for an absolute URL on the platform.

    Raises
    ------
    InvalidReturnURLError
        If the URL is not on the platform's scheme, host and port, or could
        be read otherwise by a browser: protocol-relative (``//host``),
        backslashes, user info (``https://host@evil``), non-HTTP schemes
        (``javascript:``, ``data:``), control characters, white space,
        characters outside printable ASCII, or longer than
        `MAX_RETURN_URL_LENGTH`.
    """
    origin = base_url.rstrip("/")
    if not rd:
        return f"{origin}/"
    if len(rd) > MAX_RETURN_URL_LENGTH:
        raise _refuse("is too long")
    if any(not (0x21 <= ord(c) <= 0x7E) for c in rd):
        # Control characters and white space are stripped or reinterpreted
        # by browsers; non-ASCII characters open look-alike tricks. A real
        # URL has them percent-encoded.
        raise _refuse("contains white space, control or non-ASCII characters")
    if "\\" in rd:
        # Browsers read a backslash as a slash: /\evil is //evil.
        raise _refuse("contains a backslash")
    if rd.startswith("/"):
        if rd.startswith("//"):
            raise _refuse("is protocol-relative (starts with //)")
        return f"{origin}{rd}"

    try:
        url = urlsplit(rd)
        platform = urlsplit(origin)
        same = _same_origin(url, platform)
    except ValueError:
        raise _refuse("is not a valid URL") from None
    if not same:
        raise _refuse("is not on this platform")
    path = url.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        raise _refuse("has an invalid path")
    query = f"?{url.query}" if url.query else ""
    fragment = f"#{url.fragment}" if url.fragment else ""
    return f"{origin}{path}{query}{fragment}"


def _same_origin(url: SplitResult, platform: SplitResult) -> bool:
    """Whether ``url`` has exactly the platform's scheme, host and port."""
    scheme = url.scheme.lower()
    if scheme != platform.scheme or scheme not in _DEFAULT_PORTS:
        return False
    if "@" in url.netloc or not url.hostname:
        return False
    if url.hostname != platform.hostname:
        return False
    default = _DEFAULT_PORTS[scheme]
    port = default if url.port is None else url.port
    return port == (default if platform.port is None else platform.port)


def _refuse(reason: str) -> InvalidReturnURLError:
    return InvalidReturnURLError(
        f"The return URL {reason}. Only addresses on this platform are allowed.",
        location="query",
        field="rd",
    )
