"""Return URL (``rd``) validation: the gateway must never be an open redirector."""

from __future__ import annotations

import pytest
from rsp_gateway.exceptions import InvalidReturnURLError
from rsp_gateway.services.return_url import MAX_RETURN_URL_LENGTH, validate_return_url

BASE = "https://data.example.org"
LOCAL = "http://localhost:8000"

# Every value here must be refused for BASE.
REFUSED = [
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


@pytest.mark.parametrize("rd", REFUSED)
def test_refused(rd: str) -> None:
    with pytest.raises(InvalidReturnURLError) as info:
        validate_return_url(rd, BASE)
    assert info.value.status_code == 400
    assert info.value.field == "rd"


@pytest.mark.parametrize(
    ("rd", "expected"),
    [
        (None, f"{BASE}/"),
        ("", f"{BASE}/"),
        ("/", f"{BASE}/"),
        ("/nb/hub/home", f"{BASE}/nb/hub/home"),
        ("/portal/?a=1&b=%2F%2Fx#frag", f"{BASE}/portal/?a=1&b=%2F%2Fx#frag"),
        ("/%2F%2Fevil.example.com", f"{BASE}/%2F%2Fevil.example.com"),
        ("/login?rd=//evil.example.com", f"{BASE}/login?rd=//evil.example.com"),
        (f"{BASE}", f"{BASE}/"),
        (f"{BASE}/", f"{BASE}/"),
        (f"{BASE}/api/tap/sync?q=1", f"{BASE}/api/tap/sync?q=1"),
        ("https://DATA.Example.ORG/x", f"{BASE}/x"),
        ("HTTPS://data.example.org/x", f"{BASE}/x"),
        ("https://data.example.org:443/x", f"{BASE}/x"),
        ("https://data.example.org/x#a", f"{BASE}/x#a"),
    ],
)
def test_accepted(rd: str | None, expected: str) -> None:
    assert validate_return_url(rd, BASE) == expected


def test_base_with_trailing_slash() -> None:
    assert validate_return_url("/nb/", f"{BASE}/") == f"{BASE}/nb/"


@pytest.mark.parametrize(
    ("rd", "expected"),
    [
        ("http://localhost:8000/nb/", f"{LOCAL}/nb/"),
        ("/auth/tokens", f"{LOCAL}/auth/tokens"),
        ("http://localhost/nb/", None),
        ("http://localhost:8001/nb/", None),
        ("https://localhost:8000/nb/", None),
        ("http://127.0.0.1:8000/nb/", None),
    ],
)
def test_port_and_scheme_must_match(rd: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(InvalidReturnURLError):
            validate_return_url(rd, LOCAL)
    else:
        assert validate_return_url(rd, LOCAL) == expected


def test_longest_accepted() -> None:
    rd = "/" + "a" * (MAX_RETURN_URL_LENGTH - 1)
    assert validate_return_url(rd, BASE) == BASE + rd
