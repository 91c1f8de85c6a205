"""Token change history (listing, filters, cursors) and maintenance."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.exceptions import InputError, PermissionDeniedError
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.models.history import HistoryCursor, TokenChange
from rsp_gateway.models.token import Token, TokenData, TokenType, UserTokenRequest
from rsp_gateway.models.userinfo import UserInfo
from rsp_gateway.schema import TokenChangeHistoryRecord, TokenRecord
from rsp_gateway.services.history import (
    TokenHistoryService,
    format_cursor,
    parse_cursor,
)
from rsp_gateway.services.maintenance import TokenMaintenanceService
from rsp_gateway.services.token import TokenService
from rsp_gateway.services.token_rules import operator_auth
from sqlalchemy import func, select, update

ADMIN = operator_auth("root")


@dataclass(frozen=True)
class Backend:
    """The token services on one database and the resources under them."""

    tokens: TokenService
    history: TokenHistoryService
    maintenance: TokenMaintenanceService
    context: ProcessContext


@pytest.fixture(params=["postgresql", "sqlite"])
async def backend(
    request: pytest.FixtureRequest, make_config: Callable[..., Config], sqlite_url: str
) -> AsyncIterator[Backend]:
    """Token services on PostgreSQL + Redis, or on SQLite alone."""
    if request.param == "postgresql":
        config = make_config()
    else:
        config = make_config(database_url=SecretStr(sqlite_url), redis_url=None)
    context = await ProcessContext.from_config(config)
    await context.check_schema()
    factory = Factory(context)
    try:
        yield Backend(
            tokens=factory.create_token_service(),
            history=factory.create_history_service(),
            maintenance=factory.create_maintenance_service(),
            context=context,
        )
    finally:
        await context.aclose()


async def _session(service: TokenService, username: str, ip: str) -> TokenData:
    token = await service.create_session_token(
        UserInfo(username=username), ["user:token", "read:tap"], ip_address=ip
    )
    data = await service.validate(token)
    assert data is not None
    return data


async def test_core_rules_on_both_databases(
    backend: Backend,
) -> None:
    service, context = backend.tokens, backend.context
    alice = await _session(service, "alice", "10.1.2.3")
    user = await service.create_user_token(
        alice,
        "alice",
        UserTokenRequest(token_name="t", scopes=["read:tap"]),
        ip_address=None,
    )
    with pytest.raises(InputError):
        await service.create_user_token(
            alice, "alice", UserTokenRequest(token_name="t"), ip_address=None
        )
    user_data = await service.validate(user)
    assert user_data is not None
    child = await service.get_internal_token(
        user_data, service="tap", scopes=["read:tap"], ip_address=None
    )
    assert (
        await service.get_internal_token(
            user_data, service="tap", scopes=["read:tap"], ip_address=None
        )
        == child
    )
    await service.revoke_token(alice, "alice", user.key, ip_address="10.1.2.3")
    assert await service.validate(user) is None
    assert await service.validate(child) is None
    async with context.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(TokenRecord))
    assert count == 1  # only the session is left


async def test_paging_is_stable_both_ways(
    backend: Backend,
) -> None:
    service = backend.tokens
    alice = await _session(service, "alice", "10.0.0.1")
    for i in range(6):
        await service.create_user_token(
            alice, "alice", UserTokenRequest(token_name=f"t{i}"), ip_address="10.0.0.1"
        )
    (
        everything,
        total,
        next_cursor,
        prev_cursor,
    ) = await backend.history.get_change_history(alice, username="alice")
    assert total == 7
    assert (next_cursor, prev_cursor) == (None, None)
    times = [(e.event_time, e.token_name) for e in everything]
    assert everything[0].token_name == "t5"  # newest first
    assert everything[-1].token_type is TokenType.session
    assert times == sorted(times, key=lambda t: t[0], reverse=True)

    page1, total, cursor1, prev1 = await backend.history.get_change_history(
        alice, username="alice", limit=3
    )
    assert total == 7
    assert prev1 is None
    assert cursor1 is not None
    assert page1 == everything[:3]
    # A change recorded now does not shift the pages after the first.
    await service.create_user_token(
        alice, "alice", UserTokenRequest(token_name="late"), ip_address="10.0.0.1"
    )
    page2, total, cursor2, prev2 = await backend.history.get_change_history(
        alice, username="alice", limit=3, cursor=cursor1
    )
    assert total == 8
    assert page2 == everything[3:6]
    assert cursor2 is not None
    assert prev2 is not None
    assert prev2.startswith("p")
    page3, _, cursor3, _ = await backend.history.get_change_history(
        alice, username="alice", limit=3, cursor=cursor2
    )
    assert page3 == everything[6:]
    assert cursor3 is None
    back, _, forward, back_prev = await backend.history.get_change_history(
        alice, username="alice", limit=3, cursor=prev2
    )
    assert back == everything[:3]
    assert forward == cursor1
    # The entry recorded meanwhile is one more page back.
    assert back_prev is not None
    newest, _, _, newest_prev = await backend.history.get_change_history(
        alice, username="alice", limit=3, cursor=back_prev
    )
    assert [e.token_name for e in newest] == ["late"]
    assert newest_prev is None


async def test_filters(backend: Backend) -> None:
    service, context = backend.tokens, backend.context
    alice = await _session(service, "alice", "10.1.2.3")
    bob = await _session(service, "bob", "192.168.7.9")
    user = await service.create_user_token(
        alice, "alice", UserTokenRequest(token_name="t"), ip_address="10.1.9.9"
    )
    await service.revoke_token(alice, "alice", user.key, ip_address="10.2.0.1")

    async def tokens(**filters: object) -> list[tuple[str, TokenChange]]:
        entries, total, _, _ = await backend.history.get_change_history(
            ADMIN,
            **filters,  # type: ignore[arg-type]
        )
        assert total == len(entries)
        return [(e.token, e.action) for e in entries]

    assert len(await tokens()) == 4
    assert await tokens(username="bob") == [(bob.key, TokenChange.create)]
    assert await tokens(key=user.key) == [
        (user.key, TokenChange.revoke),
        (user.key, TokenChange.create),
    ]
    assert await tokens(token_type="session") == [
        (bob.key, TokenChange.create),
        (alice.key, TokenChange.create),
    ]
    assert await tokens(ip_address="10.1.2.3") == [(alice.key, TokenChange.create)]
    assert len(await tokens(ip_address="10.1.0.0/16")) == 2
    assert len(await tokens(ip_address="10.0.0.0/8")) == 3
    with pytest.raises(InputError):
        await tokens(ip_address="not-an-ip")
    with pytest.raises(InputError):
        await tokens(token_type="bogus")

    # Time filters: move alice's session creation an hour back.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    async with context.sessions.begin() as session:
        await session.execute(
            update(TokenChangeHistoryRecord)
            .where(TokenChangeHistoryRecord.token == alice.key)
            .values(event_time=an_hour_ago)
        )
    recent = await tokens(since=datetime.now(UTC) - timedelta(minutes=5))
    assert (alice.key, TokenChange.create) not in recent
    assert len(recent) == 3
    assert await tokens(until=an_hour_ago + timedelta(seconds=1)) == [
        (alice.key, TokenChange.create)
    ]


async def test_cidr_on_postgresql_only_networks_sqlite_cannot_do(
    backend: Backend,
) -> None:
    service, context = backend.tokens, backend.context
    await _session(service, "alice", "10.1.2.3")
    if context.engine.dialect.name == "postgresql":
        entries, _, _, _ = await backend.history.get_change_history(
            ADMIN, ip_address="10.1.2.0/25"
        )
        assert len(entries) == 1
    else:
        with pytest.raises(InputError, match="/8, /16, /24"):
            await backend.history.get_change_history(ADMIN, ip_address="10.1.2.0/25")


async def test_history_permissions_and_bad_paging(
    token_service: TokenService,
    history_service: TokenHistoryService,
) -> None:
    alice = await _session(token_service, "alice", "10.0.0.1")
    with pytest.raises(PermissionDeniedError):
        await history_service.get_change_history(alice)
    with pytest.raises(PermissionDeniedError):
        await history_service.get_change_history(alice, username="bob")
    too_big = "1_" + "9" * 20
    for bad in ("x", "p12", "12_", "-1_2", "99999999999999999999_1", too_big):
        with pytest.raises(InputError, match="cursor"):
            await history_service.get_change_history(
                alice, username="alice", cursor=bad, limit=1
            )
    with pytest.raises(InputError, match="limit"):
        await history_service.get_change_history(alice, username="alice", limit=0)
    with pytest.raises(InputError, match="needs a limit"):
        await history_service.get_change_history(alice, username="alice", cursor="1_1")


def test_cursor_round_trip() -> None:
    when = datetime(2026, 11, 24, 5, 6, 7, 891011, tzinfo=UTC)
    cursor = HistoryCursor(time=when, id=42)
    text = format_cursor(cursor)
    assert text == f"{int(when.timestamp())}891011_42"
    assert parse_cursor(text) == cursor
    previous = HistoryCursor(time=when, id=42, previous=True)
    assert format_cursor(previous).startswith("p")
    assert parse_cursor(format_cursor(previous)) == previous


async def test_expire_and_trim(
    backend: Backend,
) -> None:
    service, context = backend.tokens, backend.context
    alice = await _session(service, "alice", "10.0.0.1")
    child = await service.get_notebook_token(alice, ip_address=None)
    keep = await _session(service, "bob", "10.0.0.1")
    # Let alice's session and its child expire.
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with context.sessions.begin() as session:
        await session.execute(
            update(TokenRecord)
            .where(TokenRecord.username == "alice")
            .values(expires=past)
        )
    assert await backend.maintenance.expire_tokens() == 2
    assert await backend.maintenance.expire_tokens() == 0
    assert await service.validate(child) is None
    assert await service.validate(Token.generate()) is None
    entries, _, _, _ = await backend.history.get_change_history(ADMIN, username="alice")
    expired = [e for e in entries if e.action is TokenChange.expire]
    assert {e.token for e in expired} == {alice.key, child.key}
    assert all(e.actor == "<internal>" for e in expired)

    # Trim: entries older than the retention go, newer ones stay.
    old = datetime.now(UTC) - context.config.history_retention - timedelta(days=1)
    async with context.sessions.begin() as session:
        await session.execute(
            update(TokenChangeHistoryRecord)
            .where(TokenChangeHistoryRecord.username == "alice")
            .values(event_time=old)
        )
    assert await backend.maintenance.trim_history() == len(entries)
    assert await backend.maintenance.trim_history() == 0
    remaining, total, _, _ = await backend.history.get_change_history(ADMIN)
    assert total == 1
    assert remaining[0].token == keep.key
