"""Return URL (``rd``) validation: the gateway must never be an open redirector."""

from __future__ import annotations

import pytest
from rsp_gateway.exceptions import InvalidReturnURLError
from rsp_gateway.services.return_url import MAX_RETURN_URL_LENGTH, validate_return_url
from support.return_urls import REFUSED_BASE_URL, REFUSED_RETURN_URLS

BASE = REFUSED_BASE_URL
LOCAL = "http://localhost:8000"

REFUSED = REFUSED_RETURN_URLS


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
