"""The session cookie as browsers store and send it back."""

from __future__ import annotations

from collections.abc import Callable

from conftest import MakeSession
from httpx import AsyncClient
from rsp_gateway.config import Config
from rsp_gateway.models.session import SessionState
from rsp_gateway.storage.session import SessionCookieCodec
from starlette.responses import Response

SECRET = "s" * 44


def _browser_cookie_value(set_cookie: str, name: str) -> str:
    """The value a browser sends back for a Set-Cookie header, byte for byte."""
    pair = set_cookie.split(";", 1)[0]
    cookie_name, _, value = pair.partition("=")
    assert cookie_name == name
    return value


def test_value_needs_no_quoting() -> None:
    codec = SessionCookieCodec(SECRET)
    for csrf in ("a", "ab", "abc", "abcd"):  # every padding length
        value = codec.encode(SessionState(token=None, csrf=csrf))
        response = Response()
        response.set_cookie("rsp_session", value, httponly=True)
        sent = _browser_cookie_value(response.headers["set-cookie"], "rsp_session")
        assert sent == value
        assert '"' not in sent
        assert "=" not in sent
        assert codec.decode(sent).csrf == csrf


def test_quoted_and_padded_values_still_decode() -> None:
    codec = SessionCookieCodec(SECRET)
    value = codec.encode(SessionState(csrf="x"))
    padded = value + "=" * (-len(value) % 4)
    assert codec.decode(f'"{padded}"').csrf == "x"
    assert codec.decode(padded).csrf == "x"


def test_forged_values_are_empty_state() -> None:
    codec = SessionCookieCodec(SECRET)
    other = SessionCookieCodec("o" * 44).encode(SessionState(token="gt-x.y"))
    for forged in (other, "", '""', "not-base64!", "A" * 4096):
        assert codec.decode(forged) == SessionState()


async def test_ingress_accepts_the_cookie_a_browser_sends(
    client: AsyncClient,
    config: Config,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
) -> None:
    token = await make_session("alice", ["read:tap"])
    response = Response()
    response.set_cookie(config.cookie_name, make_session_cookie(token), httponly=True)
    sent = _browser_cookie_value(response.headers["set-cookie"], config.cookie_name)
    answer = await client.get(
        "/ingress/auth",
        params={"scope": "read:tap"},
        headers={"Cookie": f"{config.cookie_name}={sent}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Auth-Request-User"] == "alice"
