"""The token REST API route by route: paths, shapes, status codes, headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import MakeSession
from httpx import AsyncClient
from rsp_gateway.models.token import Token, TokenType
from rsp_gateway.models.userinfo import Group
from rsp_gateway.services.token import TokenService
from support.credentials import bearer

API = "/auth/api/v1"
ALICE = {
    "name": "Alice Example",
    "email": "alice@example.org",
    "uid": 1001,
    "gid": 2001,
    "groups": [Group(name="org-astro", id=3001), Group(name="org-users", id=3002)],
}


def _in(days: float) -> int:
    return int((datetime.now(UTC) + timedelta(days=days)).timestamp())


async def test_user_info_is_the_tokens_identity(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", **ALICE)  # type: ignore[arg-type]
    r = await client.get(f"{API}/user-info", headers=bearer(session))
    assert r.status_code == 200
    assert r.json() == {
        "username": "alice",
        "name": "Alice Example",
        "email": "alice@example.org",
        "uid": 1001,
        "gid": 2001,
        "groups": [
            {"name": "org-astro", "id": 3001},
            {"name": "org-users", "id": 3002},
        ],
    }


async def test_user_info_leaves_out_what_is_unknown(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("bob")
    r = await client.get(f"{API}/user-info", headers=bearer(session))
    assert r.status_code == 200
    assert r.json() == {"username": "bob", "groups": []}


async def test_token_info_describes_the_presented_token(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", ["read:tap", "user:token"])
    r = await client.get(f"{API}/token-info", headers=bearer(session))
    assert r.status_code == 200
    info = r.json()
    assert info["token"] == session.key
    assert info["username"] == "alice"
    assert info["token_type"] == "session"
    assert info["scopes"] == ["read:tap", "user:token"]
    # Times are whole seconds since the epoch, as Gafaelfawr shows them.
    assert isinstance(info["created"], int)
    assert isinstance(info["expires"], int)
    assert abs(info["created"] - datetime.now(UTC).timestamp()) < 60
    assert info["expires"] > info["created"]
    assert str(session) not in r.text


async def test_create_list_get_user_token(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", ["read:tap", "exec:notebook", "user:token"])
    expires = _in(30)
    r = await client.post(
        f"{API}/users/alice/tokens",
        headers=bearer(session),
        json={"token_name": "laptop", "scopes": ["read:tap"], "expires": expires},
    )
    assert r.status_code == 201
    new = Token.from_str(r.json()["token"])
    assert r.headers["Location"] == f"{API}/users/alice/tokens/{new.key}"

    # The new token works and carries only what was asked for.
    info = await client.get(f"{API}/token-info", headers=bearer(new))
    assert info.status_code == 200
    assert info.json()["scopes"] == ["read:tap"]
    assert info.json()["token_type"] == "user"
    assert info.json()["token_name"] == "laptop"
    assert info.json()["expires"] == expires

    listed = await client.get(f"{API}/users/alice/tokens", headers=bearer(session))
    assert listed.status_code == 200
    by_key = {t["token"]: t for t in listed.json()}
    assert set(by_key) == {session.key, new.key}
    assert by_key[new.key]["token_name"] == "laptop"
    assert by_key[session.key]["token_type"] == "session"

    one = await client.get(r.headers["Location"], headers=bearer(session))
    assert one.status_code == 200
    assert one.json() == by_key[new.key] | {"last_used": one.json()["last_used"]}
    assert one.json()["last_used"] is not None  # it was used just above


async def test_create_token_without_expiry_or_scopes(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice")
    r = await client.post(
        f"{API}/users/alice/tokens",
        headers=bearer(session),
        json={"token_name": "forever"},
    )
    assert r.status_code == 201
    info = await client.get(f"{API}/token-info", headers=bearer(r.json()["token"]))
    assert info.json()["expires"] is None
    assert info.json()["scopes"] == []


async def test_create_token_accepts_iso_expiry(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice")
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    r = await client.post(
        f"{API}/users/alice/tokens",
        headers=bearer(session),
        json={"token_name": "iso", "expires": when.isoformat()},
    )
    assert r.status_code == 201
    info = await client.get(f"{API}/token-info", headers=bearer(r.json()["token"]))
    assert info.json()["expires"] == int(when.timestamp())


async def test_duplicate_token_name_is_refused(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice")
    body = {"token_name": "twice"}
    first = await client.post(
        f"{API}/users/alice/tokens", headers=bearer(session), json=body
    )
    assert first.status_code == 201
    again = await client.post(
        f"{API}/users/alice/tokens", headers=bearer(session), json=body
    )
    assert again.status_code == 422
    assert again.json()["detail"][0]["loc"] == ["body", "token_name"]


async def test_create_token_refuses_bad_bodies(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice")
    url = f"{API}/users/alice/tokens"
    bodies: list[object] = [
        {},
        {"token_name": ""},
        {"token_name": "   "},
        {"token_name": "x" * 65},
        {"token_name": "nul\u0000byte"},
        {"token_name": "line\nbreak"},
        {"token_name": "past", "expires": _in(-1)},
        {"token_name": "ok", "token_type": "service"},
        {"token_name": "ok", "scopes": "read:tap"},
        {"token_name": "ok", "expires": "tomorrow"},
        {"token_name": "ok", "expires": "0001-01-01T00:00:00+01:00"},
        ["token_name"],
    ]
    for body in bodies:
        r = await client.post(url, headers=bearer(session), json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"], body
    broken = await client.post(
        url,
        headers={**bearer(session), "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert broken.status_code == 422


async def test_modify_user_token(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", ["read:tap", "exec:notebook", "user:token"])
    created = await client.post(
        f"{API}/users/alice/tokens",
        headers=bearer(session),
        json={"token_name": "old", "scopes": ["read:tap"], "expires": _in(5)},
    )
    location = created.headers["Location"]
    new_expiry = _in(10)
    r = await client.patch(
        location,
        headers=bearer(session),
        json={"token_name": "new", "scopes": ["exec:notebook"], "expires": new_expiry},
    )
    assert r.status_code == 200
    assert r.json()["token_name"] == "new"
    assert r.json()["scopes"] == ["exec:notebook"]
    assert r.json()["expires"] == new_expiry

    # An explicit null removes the expiry; an absent field keeps it.
    kept = await client.patch(location, headers=bearer(session), json={})
    assert kept.json()["expires"] == new_expiry
    cleared = await client.patch(
        location, headers=bearer(session), json={"expires": None}
    )
    assert cleared.status_code == 200
    assert cleared.json()["expires"] is None
    again = await client.get(location, headers=bearer(session))
    assert again.json()["token_name"] == "new"
    assert again.json()["expires"] is None


async def test_modify_refuses_bad_bodies(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice")
    created = await client.post(
        f"{API}/users/alice/tokens", headers=bearer(session), json={"token_name": "a"}
    )
    for body in (
        {"token_name": ""},
        {"token_name": "   "},
        {"token_name": "nul\u0000"},
        {"token_name": "x" * 65},
        {"expires": _in(-1)},
        {"token_type": "service"},
        {"scopes": "read:tap"},
    ):
        r = await client.patch(
            created.headers["Location"], headers=bearer(session), json=body
        )
        assert r.status_code == 422, body
    unchanged = await client.get(created.headers["Location"], headers=bearer(session))
    assert unchanged.json()["token_name"] == "a"


async def test_revoke_user_token(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice")
    created = await client.post(
        f"{API}/users/alice/tokens",
        headers=bearer(session),
        json={"token_name": "gone"},
    )
    token = created.json()["token"]
    works = await client.get(f"{API}/user-info", headers=bearer(token))
    assert works.status_code == 200

    r = await client.delete(created.headers["Location"], headers=bearer(session))
    assert r.status_code == 204
    assert r.content == b""
    gone = await client.get(created.headers["Location"], headers=bearer(session))
    assert gone.status_code == 404
    refused = await client.get(f"{API}/user-info", headers=bearer(token))
    assert refused.status_code == 401
    assert "WWW-Authenticate" in refused.headers
    again = await client.delete(created.headers["Location"], headers=bearer(session))
    assert again.status_code == 404


async def test_admin_creates_service_token(
    client: AsyncClient, make_session: MakeSession
) -> None:
    admin = await make_session("root", ["admin:token"])
    r = await client.post(
        f"{API}/tokens",
        headers=bearer(admin),
        json={
            "username": "bot-mobu",
            "token_type": "service",
            "scopes": ["read:tap", "exec:notebook"],
            "name": "Mobu",
            "uid": 5000,
            "gid": 5000,
            "groups": [{"name": "bots", "id": 5000}],
        },
    )
    assert r.status_code == 201
    token = Token.from_str(r.json()["token"])
    assert r.headers["Location"] == f"{API}/users/bot-mobu/tokens/{token.key}"
    info = await client.get(f"{API}/token-info", headers=bearer(token))
    assert info.json()["token_type"] == "service"
    assert info.json()["scopes"] == ["exec:notebook", "read:tap"]
    who = await client.get(f"{API}/user-info", headers=bearer(token))
    assert who.json() == {
        "username": "bot-mobu",
        "name": "Mobu",
        "uid": 5000,
        "gid": 5000,
        "groups": [{"name": "bots", "id": 5000}],
    }
    # The admin sees it in the bot's list.
    listed = await client.get(r.headers["Location"], headers=bearer(admin))
    assert listed.status_code == 200


async def test_admin_creates_user_token_for_someone(
    client: AsyncClient, make_session: MakeSession
) -> None:
    admin = await make_session("root", ["admin:token"])
    r = await client.post(
        f"{API}/tokens",
        headers=bearer(admin),
        json={
            "username": "carol",
            "token_type": "user",
            "token_name": "from admin",
            "scopes": ["read:image"],
            "expires": _in(1),
        },
    )
    assert r.status_code == 201
    info = await client.get(f"{API}/token-info", headers=bearer(r.json()["token"]))
    assert info.json()["username"] == "carol"
    assert info.json()["scopes"] == ["read:image"]


async def test_admin_token_request_rules(
    client: AsyncClient, make_session: MakeSession
) -> None:
    admin = await make_session("root", ["admin:token"])
    refused = [
        {"username": "mobu", "token_type": "service", "scopes": []},
        {"username": "bot-x", "token_type": "session", "scopes": []},
        {"username": "bot-x", "token_type": "notebook", "scopes": []},
        {"username": "bot-x", "token_type": "internal", "scopes": []},
        {"username": "carol", "token_type": "user", "scopes": []},
        {"username": "bot-x", "token_type": "service", "scopes": ["no:such"]},
        {"username": "Bot_X", "token_type": "service", "scopes": []},
        {"username": "bot-x", "token_type": "service", "uid": 0},
        {
            "username": "bot-x",
            "token_type": "service",
            "groups": [{"name": "", "id": 1}],
        },
        {"username": "bot-x", "token_type": "robot"},
        {"username": "bot-x", "token_type": "service", "name": "x" * 257},
        {"username": "bot-x", "token_type": "service", "name": "nul\u0000"},
        {"username": "bot-x", "token_type": "service", "email": "\u0000@x.org"},
        {"username": "bot-x", "token_type": "user", "token_name": "\u0000"},
        {"token_type": "service"},
    ]
    for body in refused:
        r = await client.post(f"{API}/tokens", headers=bearer(admin), json=body)
        assert r.status_code == 422, body


async def test_get_user_needs_admin_userinfo(
    client: AsyncClient, make_session: MakeSession
) -> None:
    await make_session("alice", **ALICE)  # type: ignore[arg-type]
    admin = await make_session("root", ["admin:userinfo"])
    r = await client.get(f"{API}/users/alice", headers=bearer(admin))
    assert r.status_code == 200
    assert r.json()["uid"] == 1001
    assert r.json()["groups"] == [
        {"name": "org-astro", "id": 3001},
        {"name": "org-users", "id": 3002},
    ]

    nobody = await client.get(f"{API}/users/nobody", headers=bearer(admin))
    assert nobody.status_code == 404

    user = await make_session("bob")
    forbidden = await client.get(f"{API}/users/alice", headers=bearer(user))
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"][0]["type"] == "insufficient_scope"


async def test_get_user_prefers_the_newest_session(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    await make_session("alice", uid=1, name="Old Name")
    await make_session("alice", uid=1, name="New Name")
    admin = await make_session("root", ["admin:userinfo"])
    r = await client.get(f"{API}/users/alice", headers=bearer(admin))
    assert r.json()["name"] == "New Name"


async def test_openapi_documents_every_route(client: AsyncClient) -> None:
    r = await client.get("/auth/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    expected = {
        ("get", f"{API}/user-info"),
        ("get", f"{API}/token-info"),
        ("get", f"{API}/users/{{username}}"),
        ("get", f"{API}/users/{{username}}/tokens"),
        ("post", f"{API}/users/{{username}}/tokens"),
        ("get", f"{API}/users/{{username}}/tokens/{{key}}"),
        ("patch", f"{API}/users/{{username}}/tokens/{{key}}"),
        ("delete", f"{API}/users/{{username}}/tokens/{{key}}"),
        ("post", f"{API}/tokens"),
        ("get", f"{API}/users/{{username}}/tokens/{{key}}/change-history"),
        ("get", f"{API}/users/{{username}}/token-change-history"),
        ("get", f"{API}/history/token-changes"),
    }
    documented = {(m, p) for p, ops in paths.items() for m in ops}
    assert expected <= documented
    for method, path in expected:
        operation = paths[path][method]
        assert operation["summary"], (method, path)
        assert operation["tags"], (method, path)
        success = next(c for c in operation["responses"] if c.startswith("2"))
        if success != "204":
            assert "content" in operation["responses"][success], (method, path)
        assert "401" in operation["responses"], (method, path)

    docs = await client.get("/auth/docs")
    assert docs.status_code == 200
    assert "/auth/openapi.json" in docs.text


async def test_token_types_are_the_contracts(client: AsyncClient) -> None:
    r = await client.get("/auth/openapi.json")
    schema = r.json()["components"]["schemas"]["TokenType"]
    assert set(schema["enum"]) == {t.value for t in TokenType}
