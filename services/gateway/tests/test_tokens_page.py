"""The token page ``/auth/tokens`` as served (the browser tests drive it)."""

from __future__ import annotations

from collections.abc import Callable

from conftest import MakeSession
from httpx import AsyncClient
from rsp_gateway.config import Config

PAGE = "/auth/tokens"


async def test_without_session_redirects_to_login(client: AsyncClient) -> None:
    r = await client.get(PAGE)
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?rd=/auth/tokens"


async def test_stale_or_forged_session_redirects_to_login(
    client: AsyncClient,
    config: Config,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
) -> None:
    client.cookies.set(config.cookie_name, "forged")
    assert (await client.get(PAGE)).status_code == 302

    session = await make_session("alice")
    cookie = make_session_cookie(session)
    admin = await make_session("root", ["admin:token"])
    await client.delete(
        f"/auth/api/v1/users/alice/tokens/{session.key}",
        headers={"Authorization": f"Bearer {admin}"},
    )
    client.cookies.set(config.cookie_name, cookie)
    r = await client.get(PAGE)
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?rd=/auth/tokens"


async def test_a_token_is_not_a_session(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice")
    r = await client.get(PAGE, headers={"Authorization": f"Bearer {session}"})
    assert r.status_code == 302


async def test_session_without_user_token_scope_is_refused(
    client: AsyncClient,
    config: Config,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
) -> None:
    session = await make_session("alice", ["read:tap"])
    client.cookies.set(config.cookie_name, make_session_cookie(session))
    r = await client.get(PAGE)
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("text/html")
    assert "user:token" in r.text
    assert "not allowed" in r.text
    assert "alice" in r.text


async def test_page_shell(
    client: AsyncClient,
    config: Config,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
) -> None:
    session = await make_session("alice")
    client.cookies.set(config.cookie_name, make_session_cookie(session))
    r = await client.get(PAGE)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Frame-Options"] == "DENY"
    html = r.text
    assert 'data-api-url="/auth/api/v1"' in html
    assert 'data-username="alice"' in html
    assert '<label for="token-name">Name</label>' in html
    assert 'src="/auth/static/tokens.js"' in html
    assert 'href="/auth/static/tokens.css"' in html
    # Nothing is fetched from elsewhere: the machine may be offline.
    assert "http://" not in html
    assert "https://" not in html
    # The page never carries a token itself.
    assert str(session) not in html


async def test_page_assets_are_served(client: AsyncClient) -> None:
    for name, kind in (("tokens.js", "javascript"), ("tokens.css", "css")):
        r = await client.get(f"/auth/static/{name}")
        assert r.status_code == 200
        assert kind in r.headers["Content-Type"]
        assert "http://" not in r.text
        assert "https://" not in r.text
