"""Token change history through the API: per token, per user, admin-wide.

Paging is by cursor, answered with ``Link`` (first, next, prev) and
``X-Total-Count``; filters narrow what is counted and listed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import MakeSession
from httpx import AsyncClient, Response
from rsp_gateway.models.token import Token, TokenData, UserTokenRequest
from rsp_gateway.services.token import TokenService
from support.credentials import bearer

API = "/auth/api/v1"
SCOPES = ["read:tap", "exec:notebook", "user:token"]
_LINK = re.compile(r'<([^>]*)>;\s*rel="([^"]+)"')


def _links(r: Response) -> dict[str, str]:
    """The ``Link`` header as {rel: path and query}."""
    links = {}
    for url, rel in _LINK.findall(r.headers.get("Link", "")):
        assert url.startswith("http://localhost:8000/"), url
        links[rel] = url.removeprefix("http://localhost:8000")
    return links


async def _session_data(
    make_session: MakeSession, token_service: TokenService, username: str, **kw: Any
) -> tuple[Token, TokenData]:
    token = await make_session(username, SCOPES, **kw)
    data = await token_service.validate(token)
    assert data is not None
    return token, data


async def _make_user_tokens(
    token_service: TokenService,
    auth: TokenData,
    count: int,
    ip: str = "192.0.2.1",
    prefix: str = "token",
) -> list[Token]:
    return [
        await token_service.create_user_token(
            auth,
            auth.username,
            UserTokenRequest(token_name=f"{prefix} {i}", scopes=["read:tap"]),
            ip_address=ip,
        )
        for i in range(count)
    ]


async def test_per_token_history_records_create_edit_revoke(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", SCOPES)
    created = await client.post(
        f"{API}/users/alice/tokens",
        headers=bearer(session),
        json={"token_name": "first", "scopes": ["read:tap"]},
    )
    url = created.headers["Location"]
    await client.patch(
        url, headers=bearer(session), json={"token_name": "second", "scopes": []}
    )
    await client.delete(url, headers=bearer(session))

    r = await client.get(f"{url}/change-history", headers=bearer(session))
    assert r.status_code == 200
    entries = r.json()
    assert [e["action"] for e in entries] == ["revoke", "edit", "create"]
    revoke, edit, create = entries
    key = url.rsplit("/", 1)[1]
    assert {e["token"] for e in entries} == {key}
    assert create["token_name"] == "first"
    assert create["scopes"] == ["read:tap"]
    assert create["actor"] == "alice"
    assert create["ip_address"] == "127.0.0.1"
    assert create["token_type"] == "user"
    assert edit["token_name"] == "second"
    assert edit["old_token_name"] == "first"
    assert edit["scopes"] == []
    assert edit["old_scopes"] == ["read:tap"]
    assert edit["old_expires"] is None
    assert isinstance(revoke["event_time"], int)
    assert revoke["event_time"] >= edit["event_time"] >= create["event_time"]


async def test_per_token_history_of_unknown_token_is_404(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", SCOPES)
    r = await client.get(
        f"{API}/users/alice/tokens/{Token.generate().key}/change-history",
        headers=bearer(session),
    )
    assert r.status_code == 404


async def test_user_history_pages_with_links(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    session, auth = await _session_data(make_session, token_service, "alice")
    await _make_user_tokens(token_service, auth, 6)
    _, bob_auth = await _session_data(make_session, token_service, "bob")
    await _make_user_tokens(token_service, bob_auth, 2)

    url = f"{API}/users/alice/token-change-history"
    everything = await client.get(url, headers=bearer(session))
    assert everything.status_code == 200
    assert everything.headers["X-Total-Count"] == "7"  # session + 6 user tokens
    all_entries = everything.json()
    assert len(all_entries) == 7
    assert {e["username"] for e in all_entries} == {"alice"}
    times = [(e["event_time"]) for e in all_entries]
    assert times == sorted(times, reverse=True)
    assert all_entries[-1]["token_type"] == "session"

    first = await client.get(f"{url}?limit=3", headers=bearer(session))
    assert first.headers["X-Total-Count"] == "7"
    links = _links(first)
    assert links["first"] == f"{url}?limit=3"
    assert "prev" not in links
    assert "next" in links
    pages = [first.json()]

    second = await client.get(links["next"], headers=bearer(session))
    assert second.headers["X-Total-Count"] == "7"
    second_links = _links(second)
    assert second_links["first"] == f"{url}?limit=3"
    assert "prev" in second_links
    assert "next" in second_links
    pages.append(second.json())

    third = await client.get(second_links["next"], headers=bearer(session))
    third_links = _links(third)
    assert "next" not in third_links
    assert "prev" in third_links
    pages.append(third.json())

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [e for p in pages for e in p] == all_entries

    # Back from the last page and from the second: the same pages again.
    back = await client.get(third_links["prev"], headers=bearer(session))
    assert back.json() == pages[1]
    assert back.headers["X-Total-Count"] == "7"
    back_again = await client.get(_links(back)["prev"], headers=bearer(session))
    assert back_again.json() == pages[0]
    assert "next" in _links(back_again)


async def test_paging_is_stable_while_changes_are_recorded(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    session, auth = await _session_data(make_session, token_service, "alice")
    await _make_user_tokens(token_service, auth, 4)
    url = f"{API}/users/alice/token-change-history?limit=2"
    first = await client.get(url, headers=bearer(session))
    await _make_user_tokens(token_service, auth, 1, prefix="later")
    second = await client.get(_links(first)["next"], headers=bearer(session))
    assert second.headers["X-Total-Count"] == "6"
    assert not {e["token"] for e in first.json()} & {e["token"] for e in second.json()}
    # The new change is newer than the first page: it shows up going back.
    newest = await client.get(_links(first)["first"], headers=bearer(session))
    assert newest.json()[0]["token_name"] == "later 0"


async def test_user_history_filters(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    session, auth = await _session_data(
        make_session, token_service, "alice", ip_address="198.51.100.7"
    )
    user_tokens = await _make_user_tokens(token_service, auth, 3, ip="192.0.2.55")
    notebook = await token_service.get_notebook_token(auth, ip_address="2001:db8::1")
    url = f"{API}/users/alice/token-change-history"

    async def keys(query: str) -> list[str]:
        r = await client.get(f"{url}?{query}", headers=bearer(session))
        assert r.status_code == 200, r.text
        assert r.headers["X-Total-Count"] == str(len(r.json()))
        return [e["token"] for e in r.json()]

    assert await keys(f"key={user_tokens[1].key}") == [user_tokens[1].key]
    assert await keys("token_type=session") == [session.key]
    assert await keys("token_type=notebook") == [notebook.key]
    assert sorted(await keys("token_type=user")) == sorted(t.key for t in user_tokens)
    assert await keys("ip_address=198.51.100.7") == [session.key]
    assert sorted(await keys("ip_address=192.0.2.0/24")) == sorted(
        t.key for t in user_tokens
    )
    assert await keys("ip_address=2001:db8::/32") == [notebook.key]
    assert await keys("ip_address=203.0.113.1") == []

    now = datetime.now(UTC)
    future = (now + timedelta(hours=1)).isoformat()
    past = (now - timedelta(hours=1)).isoformat()
    assert await keys(f"since={future.replace('+', '%2B')}") == []
    assert len(await keys(f"since={past.replace('+', '%2B')}")) == 5
    assert await keys(f"until={past.replace('+', '%2B')}") == []
    assert len(await keys(f"until={int(now.timestamp()) + 3600}")) == 5
    combined = await keys(f"token_type=user&key={user_tokens[0].key}&limit=1")
    assert combined == [user_tokens[0].key]


async def test_filters_carry_into_links(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    session, auth = await _session_data(make_session, token_service, "alice")
    await _make_user_tokens(token_service, auth, 3)
    url = f"{API}/users/alice/token-change-history"
    r = await client.get(f"{url}?token_type=user&limit=2", headers=bearer(session))
    assert r.headers["X-Total-Count"] == "3"
    nxt = await client.get(_links(r)["next"], headers=bearer(session))
    assert "token_type=user" in _links(r)["next"]
    assert [e["token_type"] for e in nxt.json()] == ["user"]
    assert "next" not in _links(nxt)


async def test_admin_history_spans_users_and_filters_by_username(
    client: AsyncClient, make_session: MakeSession, token_service: TokenService
) -> None:
    _, alice = await _session_data(make_session, token_service, "alice")
    _, bob = await _session_data(make_session, token_service, "bob")
    await _make_user_tokens(token_service, alice, 2)
    await _make_user_tokens(token_service, bob, 1)
    admin = await make_session("root", ["admin:token"])
    url = f"{API}/history/token-changes"

    r = await client.get(url, headers=bearer(admin))
    assert r.status_code == 200
    assert {e["username"] for e in r.json()} == {"alice", "bob", "root"}
    assert r.headers["X-Total-Count"] == "6"

    only_bob = await client.get(f"{url}?username=bob", headers=bearer(admin))
    assert {e["username"] for e in only_bob.json()} == {"bob"}
    assert only_bob.headers["X-Total-Count"] == "2"

    paged = await client.get(f"{url}?limit=4&token_type=user", headers=bearer(admin))
    assert paged.headers["X-Total-Count"] == "3"
    assert len(paged.json()) == 3
    assert "next" not in _links(paged)

    # A token can be looked up by key even after it is gone.
    key = paged.json()[0]["token"]
    await client.delete(
        f"{API}/users/{paged.json()[0]['username']}/tokens/{key}", headers=bearer(admin)
    )
    by_key = await client.get(f"{url}?key={key}", headers=bearer(admin))
    assert [e["action"] for e in by_key.json()] == ["revoke", "create"]
    assert by_key.json()[0]["actor"] == "root"


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=-1",
        "limit=1001",
        "limit=abc",
        "cursor=garbage",
        "cursor=1_2",  # needs a limit
        "cursor=p_1&limit=2",
        "cursor=99999999999999999999999_1&limit=2",
        "cursor=0_10000000000000000000&limit=1",
        "cursor=p1_9223372036854775808&limit=1",
        "since=yesterday",
        "until=2024-13-45",
        "since=0001-01-01T00:00:00%2B01:00",
        "token_type=robot",
        "key=short",
        "ip_address=not-an-ip",
        "ip_address=10.0.0.0/99",
        "username=Not_A_User",
    ],
)
async def test_bad_history_queries_are_422(
    client: AsyncClient, make_session: MakeSession, query: str
) -> None:
    admin = await make_session("root", ["admin:token", "user:token"])
    for url in (
        f"{API}/users/root/token-change-history",
        f"{API}/history/token-changes",
    ):
        if query.startswith("username=") and "users/" in url:
            continue
        r = await client.get(f"{url}?{query}", headers=bearer(admin))
        assert r.status_code == 422, (url, query, r.text)
        assert r.json()["detail"][0]["msg"]


async def test_a_cursor_past_the_end_is_an_empty_page(
    client: AsyncClient, make_session: MakeSession
) -> None:
    session = await make_session("alice", SCOPES)
    r = await client.get(
        f"{API}/users/alice/token-change-history?limit=5&cursor=1_1",
        headers=bearer(session),
    )
    assert r.status_code == 200
    assert r.json() == []
    assert r.headers["X-Total-Count"] == "1"
