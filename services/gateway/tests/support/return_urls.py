"""Return URLs (``rd``) that must be refused, shared by unit and flow tests."""

from __future__ import annotations

from rsp_gateway.services.return_url import MAX_RETURN_URL_LENGTH

__all__ = ["REFUSED_BASE_URL", "REFUSED_RETURN_URLS"]

REFUSED_BASE_URL = "https://data.example.org"
"""The platform origin the refused URLs are written for."""

REFUSED_RETURN_URLS = [
    # Every value here must be refused for REFUSED_BASE_URL.
    # Other hosts and look-alikes.
    "https://evil.example.com/",
    "https://evil.example.com",
    "https://data.example.org.evil.com/",
    "https://evildata.example.org/",
    "https://data.example.org./",
    "https://sub.data.example.org/",
    # Protocol-relative and backslash variants that browsers read as //.
    "//evil.example.com/",
    "//evil.example.com",
    "///evil.example.com",
    "////evil.example.com",
    "/\\evil.example.com",
    "\\\\evil.example.com",
    "\\/evil.example.com",
    "/\\/evil.example.com",
    "https:\\\\evil.example.com",
    "https://data.example.org\\@evil.example.com/",
    "https://data.example.org/\\evil",
    # Other schemes.
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "javascript://data.example.org/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://data.example.org/",
    "ws://data.example.org/",
    "http://data.example.org/",
    "https:data.example.org/",
    "https:/data.example.org/",
    "https:///data.example.org/",
    # User info tricks.
    "https://data.example.org@evil.example.com/",
    "https://data.example.org:443@evil.example.com/",
    "https://user:pass@data.example.org/",
    "https://evil.example.com@data.example.org/",
    "https://data.example.org%40evil.example.com/",
    # Ports.
    "https://data.example.org:8443/",
    "https://data.example.org:0/",
    "https://data.example.org:99999/",
    "https://data.example.org:abc/",
    # Control characters and white space anywhere.
    " /nb/",
    "/nb/ ",
    "\t/nb/",
    "/nb/\n",
    "/n\rb/",
    "/\t/evil.example.com",
    "/%09/evil.example.com\x00",
    "https://data.example.org/\x7f",
    "\x00https://data.example.org/",
    "https://data.example.org/a b",
    # Non-ASCII (full-width slashes, homographs).
    "/\uff0fevil.example.com",
    "https://data.\u0435xample.org/",
    "/caf\u00e9",
    # Not a URL of ours at all.
    "evil.example.com",
    "nb/",
    "./nb",
    "?a=b",
    "#top",
    "https://",
    "http://[::1/",
    # Too long.
    "/" + "a" * MAX_RETURN_URL_LENGTH,
]
