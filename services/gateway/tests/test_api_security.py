"""The security matrix as it concerns the REST API.

Scope escalation, other users' tokens, children and their parents, revoked
and expired tokens, malformed credentials, Basic auth, CSRF. None of these
may ever be answered with a 500.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from conftest import MakeSession
from httpx import AsyncClient, Response
from rsp_gateway.config import Config
from rsp_gateway.factory import ProcessContext
from rsp_gateway.models.token import Token, TokenData
from rsp_gateway.schema import TokenRecord
from rsp_gateway.services.token import TokenService
from sqlalchemy import update
from support.credentials import basic, bearer

API = "/auth/api/v1"
SCOPES = ["read:tap", "exec:notebook", "user:token"]


def _in(days: float) -> int:
    return int((datetime.now(UTC) + timedelta(days=days)).timestamp())


async def _data(token_service: TokenService, token: Token) -> TokenData:
    data = await token_service.validate(token)
    assert data is not None
    return data


def _refused(r: Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.json()["detail"][0]["msg"]
    if status == 401:
        assert r.headers["WWW-Authenticate"].startswith("Bearer ")


async def _works(client: AsyncClient, token: Token | str) -> bool:
    """Whether ``token`` is accepted by the API."""
    r = await client.get(f"{API}/user-info", headers=bearer(token))
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


async def _user_token(
    client: AsyncClient, owner: Token, username: str, **body: object
) -> Token:
    r = await client.post(
        f"{API}/users/{username}/tokens",
        headers=bearer(owner),
        json={"token_name": "t", **body},
    )
    assert r.status_code == 201, r.text
    return Token.from_str(r.json()["token"])


# Scope escalation -----------------------------------------------------------


async def test_cannot_grant_scopes_not_held(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", ["read:tap", "user:token"])
    for scopes in (["exec:notebook"], ["admin:token"], ["read:tap", "exec:admin"]):
        r = await client.post(
            f"{API}/users/alice/tokens",
            headers=bearer(session),
            json={"token_name": "more", "scopes": scopes},
        )
        _refused(r, 403)
    listed = await client.get(f"{API}/users/alice/tokens", headers=bearer(session))
    assert [t["token_type"] for t in listed.json()] == ["session"]


async def test_cannot_grant_unknown_scopes(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", SCOPES)
    r = await client.post(
        f"{API}/users/alice/tokens",
        headers=bearer(session),
        json={"token_name": "x", "scopes": ["read:tap", "root:everything"]},
    )
    _refused(r, 422)
    assert "root:everything" in r.json()["detail"][0]["msg"]


async def test_cannot_widen_scopes_by_patch(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", ["read:tap", "user:token"])
    token = await _user_token(client, session, "alice", scopes=["read:tap"])
    url = f"{API}/users/alice/tokens/{token.key}"
    r = await client.patch(
        url, headers=bearer(session), json={"scopes": ["exec:notebook"]}
    )
    _refused(r, 403)
    unknown = await client.patch(url, headers=bearer(session), json={"scopes": ["x:y"]})
    _refused(unknown, 422)


async def test_a_user_token_cannot_make_tokens_without_user_token_scope(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", SCOPES)
    narrow = await _user_token(client, session, "alice", scopes=["read:tap"])
    r = await client.post(
        f"{API}/users/alice/tokens",
        headers=bearer(narrow),
        json={"token_name": "child", "scopes": ["read:tap"]},
    )
    _refused(r, 403)
    revoke = await client.delete(
        f"{API}/users/alice/tokens/{session.key}", headers=bearer(narrow)
    )
    _refused(revoke, 403)


async def test_admin_only_routes_refuse_users(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", SCOPES)
    for token_type in ("service", "user", "session", "notebook"):
        r = await client.post(
            f"{API}/tokens",
            headers=bearer(session),
            json={"username": "bot-alice", "token_type": token_type, "scopes": []},
        )
        _refused(r, 403)
    history = await client.get(f"{API}/history/token-changes", headers=bearer(session))
    _refused(history, 403)
    mine = await client.get(
        f"{API}/history/token-changes?username=alice", headers=bearer(session)
    )
    _refused(mine, 403)
    user = await client.get(f"{API}/users/alice", headers=bearer(session))
    _refused(user, 403)


# Other users' tokens --------------------------------------------------------


async def test_cannot_touch_another_users_tokens(
    client: AsyncClient, make_session: MakeSession
) -> None:
    alice = await make_session("alice", SCOPES)
    bob = await make_session("bob", SCOPES)
    bobs = await _user_token(client, bob, "bob")
    other = f"{API}/users/bob/tokens"
    _refused(await client.get(other, headers=bearer(alice)), 403)
    _refused(
        await client.post(other, headers=bearer(alice), json={"token_name": "x"}), 403
    )
    _refused(await client.get(f"{other}/{bobs.key}", headers=bearer(alice)), 403)
    _refused(
        await client.patch(f"{other}/{bobs.key}", headers=bearer(alice), json={}), 403
    )
    _refused(await client.delete(f"{other}/{bobs.key}", headers=bearer(alice)), 403)
    _refused(
        await client.get(f"{other}/{bobs.key}/change-history", headers=bearer(alice)),
        403,
    )
    _refused(
        await client.get(
            f"{API}/users/bob/token-change-history", headers=bearer(alice)
        ),
        403,
    )

    # Bob's key under Alice's own name is simply not there.
    mine = f"{API}/users/alice/tokens/{bobs.key}"
    _refused(await client.get(mine, headers=bearer(alice)), 404)
    _refused(
        await client.patch(mine, headers=bearer(alice), json={"token_name": "y"}), 404
    )
    _refused(await client.delete(mine, headers=bearer(alice)), 404)
    _refused(await client.get(f"{mine}/change-history", headers=bearer(alice)), 404)

    # And Bob's token is untouched.
    assert await _works(client, bobs)


async def test_admin_may_manage_anyones_tokens(
    client: AsyncClient, make_session: MakeSession
) -> None:
    bob = await make_session("bob", SCOPES)
    admin = await make_session("root", ["admin:token"])
    bobs = await _user_token(client, bob, "bob")
    listed = await client.get(f"{API}/users/bob/tokens", headers=bearer(admin))
    assert {t["token"] for t in listed.json()} == {bob.key, bobs.key}
    r = await client.delete(f"{API}/users/bob/tokens/{bobs.key}", headers=bearer(admin))
    assert r.status_code == 204
    history = await client.get(
        f"{API}/users/bob/tokens/{bobs.key}/change-history", headers=bearer(admin)
    )
    assert [(e["action"], e["actor"]) for e in history.json()] == [
        ("revoke", "root"),
        ("create", "bob"),
    ]


# Children and parents ---------------------------------------------------------


async def test_child_cannot_be_stretched_by_patch(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    session = await make_session("alice", SCOPES)
    parent = await _data(token_service, session)
    notebook = await token_service.get_notebook_token(parent, ip_address=None)
    internal = await token_service.get_internal_token(
        parent, service="tap", scopes=["read:tap"], ip_address=None
    )
    for child in (notebook, internal):
        r = await client.patch(
            f"{API}/users/alice/tokens/{child.key}",
            headers=bearer(session),
            json={"expires": None, "scopes": SCOPES},
        )
        _refused(r, 403)
        info = await client.get(f"{API}/token-info", headers=bearer(child))
        assert info.json()["expires"] is not None
        assert info.json()["expires"] <= int(parent.expires.timestamp())  # type: ignore[union-attr]
    # Nor can a session be stretched.
    r = await client.patch(
        f"{API}/users/alice/tokens/{session.key}",
        headers=bearer(session),
        json={"expires": None},
    )
    _refused(r, 403)


async def test_shortening_a_parent_revokes_children_that_would_outlive_it(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    session = await make_session("alice", SCOPES)
    user_token = await _user_token(
        client, session, "alice", scopes=["read:tap"], expires=_in(30)
    )
    child = await token_service.get_internal_token(
        await _data(token_service, user_token),
        service="tap",
        scopes=["read:tap"],
        ip_address=None,
    )
    assert await _works(client, child)
    r = await client.patch(
        f"{API}/users/alice/tokens/{user_token.key}",
        headers=bearer(session),
        json={"expires": _in(0.5)},
    )
    assert r.status_code == 200
    _refused(await client.get(f"{API}/user-info", headers=bearer(child)), 401)
    assert await _works(client, user_token)


async def test_narrowing_a_parent_revokes_its_children(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    session = await make_session("alice", SCOPES)
    user_token = await _user_token(
        client, session, "alice", scopes=["read:tap", "exec:notebook"]
    )
    child = await token_service.get_internal_token(
        await _data(token_service, user_token),
        service="portal",
        scopes=["read:tap"],
        ip_address=None,
    )
    r = await client.patch(
        f"{API}/users/alice/tokens/{user_token.key}",
        headers=bearer(session),
        json={"scopes": ["exec:notebook"]},
    )
    assert r.status_code == 200
    _refused(await client.get(f"{API}/user-info", headers=bearer(child)), 401)


# Revoked and expired tokens -------------------------------------------------


async def test_revoked_tokens_and_their_children_are_refused(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    session = await make_session("alice", SCOPES)
    notebook = await token_service.get_notebook_token(
        await _data(token_service, session), ip_address=None
    )
    user_token = await _user_token(client, session, "alice")
    assert await _works(client, notebook)

    admin = await make_session("root", ["admin:token"])
    r = await client.delete(
        f"{API}/users/alice/tokens/{session.key}", headers=bearer(admin)
    )
    assert r.status_code == 204
    for token in (session, notebook):
        for url in (
            f"{API}/user-info",
            f"{API}/token-info",
            f"{API}/users/alice/tokens",
        ):
            _refused(await client.get(url, headers=bearer(token)), 401)
    # A user token is not a child of the session: it survives.
    assert await _works(client, user_token)


async def test_expired_tokens_are_refused(
    client: AsyncClient,
    make_session: MakeSession,
    process_context: ProcessContext,
) -> None:
    session = await make_session("alice", SCOPES)
    token = await _user_token(client, session, "alice", expires=_in(1))
    async with process_context.sessions.begin() as db:
        await db.execute(
            update(TokenRecord)
            .where(TokenRecord.key == token.key)
            .values(expires=datetime.now(UTC) - timedelta(seconds=1))
        )
    for url in (f"{API}/user-info", f"{API}/token-info"):
        _refused(await client.get(url, headers=bearer(token)), 401)
    listed = await client.get(f"{API}/users/alice/tokens", headers=bearer(session))
    assert token.key not in {t["token"] for t in listed.json()}
    _refused(
        await client.get(
            f"{API}/users/alice/tokens/{token.key}", headers=bearer(session)
        ),
        404,
    )


# Malformed credentials and paths --------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer gt-",
        "Bearer gt-abc.def",
        "Bearer not-a-token",
        "Bearer gt-AAAAAAAAAAAAAAAAAAAAAA",
        "Bearer gt-AAAAAAAAAAAAAAAAAAAAAA.",
        "Bearer gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB",
        "Bearer gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB.CC",
        "Bearer gt-AAAAAAAAAAAAAAAAAAAAA!.BBBBBBBBBBBBBBBBBBBBBB",
        "Bearer gt-ÄAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB",
        "Bearer " + "gt-" + "A" * 5000,
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"user:not-a-token").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    ],
)
async def test_malformed_tokens_are_refused(client: AsyncClient, header: str) -> None:
    # Raw bytes, so that non-ASCII reaches the server as a client would send it.
    r = await client.get(
        f"{API}/user-info", headers=[(b"Authorization", header.encode("utf-8"))]
    )
    _refused(r, 401)


async def test_truncated_and_altered_tokens_are_refused(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = str(await make_session("alice", SCOPES))
    wrong_secret = session[:-1] + ("A" if session[-1] != "A" else "B")
    variants = [
        session[:-1],
        session[: len(session) // 2],
        session[:25],
        session + "A",
        wrong_secret,
        session.replace("gt-", "gt_", 1),
        session.upper(),
    ]
    for variant in variants:
        _refused(await client.get(f"{API}/user-info", headers=bearer(variant)), 401)
    assert await _works(client, session)


async def test_no_credentials_or_other_schemes(client: AsyncClient) -> None:
    _refused(await client.get(f"{API}/user-info"), 401)
    _refused(
        await client.get(f"{API}/user-info", headers={"Authorization": "Digest x=y"}),
        401,
    )
    # Identity headers a client sends mean nothing to the gateway itself.
    spoofed = await client.get(
        f"{API}/user-info",
        headers={"X-Auth-Request-User": "root", "X-Auth-Request-Token": "gt-x.y"},
    )
    _refused(spoofed, 401)


@pytest.mark.parametrize(
    "path",
    [
        "/users/alice/tokens/short",
        "/users/alice/tokens/AAAAAAAAAAAAAAAAAAAAAAA",
        "/users/alice/tokens/AAAAAAAAAAAAAAAAAAAAA!",
        "/users/alice/tokens/AAAAAAAAAAAAAAAAAAAAA%20",
        "/users/alice/tokens/AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB",
        "/users/Alice/tokens",
        "/users/al_ice/tokens",
        "/users/-alice/tokens",
        "/users/alice-/tokens",
        "/users/" + "a" * 65 + "/tokens",
        "/users/%00/tokens",
        "/users/%C3%A9/tokens",
    ],
)
async def test_malformed_paths_are_422(
    client: AsyncClient, make_session: MakeSession, path: str
) -> None:
    session = await make_session("alice", SCOPES)
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(method, API + path, headers=bearer(session), json={})
        assert r.status_code in (404, 405, 422), (method, path, r.status_code)
        assert r.status_code < 500
    r = await client.get(API + path, headers=bearer(session))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "path"


async def test_encoded_slashes_in_keys_never_reach_a_token(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", SCOPES)
    for key in ("AAAAAAAAAAAAAAAAAAAAA%2F", "AAAAAAAAAAA%2FAAAAAAAAAA", "%2E%2E"):
        r = await client.get(f"{API}/users/alice/tokens/{key}", headers=bearer(session))
        assert r.status_code in (307, 404, 422), (key, r.status_code)


async def test_unknown_key_is_404(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", SCOPES)
    url = f"{API}/users/alice/tokens/{Token.generate().key}"
    _refused(await client.get(url, headers=bearer(session)), 404)
    _refused(await client.patch(url, headers=bearer(session), json={}), 404)
    _refused(await client.delete(url, headers=bearer(session)), 404)


# Basic auth ----------------------------------------------------------------


async def test_basic_auth_tokens(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = str(await make_session("alice", SCOPES))
    for headers in (
        basic("anything", session),
        basic("", session),
        basic(session, "x-oauth-basic"),
    ):
        r = await client.get(f"{API}/user-info", headers=headers)
        assert r.status_code == 200, headers
        assert r.json()["username"] == "alice"
    _refused(await client.get(f"{API}/user-info", headers=basic(session, "other")), 401)
    _refused(
        await client.get(f"{API}/user-info", headers=basic("alice", "secret")), 401
    )
    # Writes with Basic auth need no CSRF token: it is not a cookie.
    r = await client.post(
        f"{API}/users/alice/tokens",
        headers=basic("x", session),
        json={"token_name": "b"},
    )
    assert r.status_code == 201


# CSRF with cookie authentication --------------------------------------------


async def test_cookie_reads_need_no_csrf(
    client: AsyncClient,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
    config: Config,
) -> None:
    session = await make_session("alice", SCOPES)
    client.cookies.set(config.cookie_name, make_session_cookie(session, csrf="c" * 32))
    r = await client.get(f"{API}/users/alice/tokens")
    assert r.status_code == 200
    assert (await client.get(f"{API}/user-info")).json()["username"] == "alice"


async def test_cookie_writes_need_the_right_csrf(
    client: AsyncClient,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
    config: Config,
) -> None:
    session = await make_session("alice", SCOPES)
    csrf = "the-right-csrf-token-for-this-session"
    client.cookies.set(config.cookie_name, make_session_cookie(session, csrf=csrf))
    url = f"{API}/users/alice/tokens"
    body = {"token_name": "by cookie"}

    for headers in (
        {},
        {"X-CSRF-Token": ""},
        {"X-CSRF-Token": "wrong"},
        {"X-CSRF-Token": csrf[:-1]},
    ):
        r = await client.post(url, json=body, headers=headers)
        _refused(r, 403)
        assert r.json()["detail"][0]["type"] == "invalid_csrf"
    listed = await client.get(url)
    assert [t["token_type"] for t in listed.json()] == ["session"]

    created = await client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    location = created.headers["Location"]
    _refused(await client.patch(location, json={"token_name": "n"}), 403)
    patched = await client.patch(
        location, json={"token_name": "n"}, headers={"X-CSRF-Token": csrf}
    )
    assert patched.status_code == 200
    _refused(await client.delete(location), 403)
    _refused(await client.delete(location, headers={"X-CSRF-Token": "nope"}), 403)
    deleted = await client.delete(location, headers={"X-CSRF-Token": csrf})
    assert deleted.status_code == 204


async def test_cookie_without_csrf_cannot_write(
    client: AsyncClient,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
    config: Config,
) -> None:
    session = await make_session("alice", SCOPES)
    client.cookies.set(config.cookie_name, make_session_cookie(session))
    r = await client.post(
        f"{API}/users/alice/tokens",
        json={"token_name": "x"},
        headers={"X-CSRF-Token": ""},
    )
    _refused(r, 403)


async def test_forged_or_stale_cookies_are_refused(
    client: AsyncClient,
    make_session: MakeSession,
    make_session_cookie: Callable[..., str],
    config: Config,
) -> None:
    client.cookies.set(config.cookie_name, "not-a-fernet-cookie")
    _refused(await client.get(f"{API}/user-info"), 401)

    session = await make_session("alice", SCOPES)
    cookie = make_session_cookie(session, csrf="c")
    admin = await make_session("root", ["admin:token"])
    await client.delete(
        f"{API}/users/alice/tokens/{session.key}", headers=bearer(admin)
    )
    client.cookies.set(config.cookie_name, cookie)
    _refused(await client.get(f"{API}/user-info"), 401)
