"""The rules of the token service: creation, delegation, changes, revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from conftest import MakeSession
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.exceptions import (
    InputError,
    InsufficientScopeError,
    InvalidTokenError,
    NotFoundError,
    PermissionDeniedError,
)
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.models.history import TokenChange
from rsp_gateway.models.token import (
    AdminTokenRequest,
    Token,
    TokenData,
    TokenType,
    UserTokenModifyRequest,
    UserTokenRequest,
)
from rsp_gateway.models.userinfo import Group, UserInfo
from rsp_gateway.schema import TokenRecord
from rsp_gateway.services.history import TokenHistoryService
from rsp_gateway.services.token import TokenService
from rsp_gateway.services.token_rules import operator_auth
from sqlalchemy import select

IP = "192.0.2.10"


async def _data(service: TokenService, token: Token) -> TokenData:
    data = await service.validate(token)
    assert data is not None
    return data


async def _session_data(
    make_session: MakeSession, service: TokenService, username: str, scopes: list[str]
) -> TokenData:
    return await _data(service, await make_session(username, scopes))


def _soon(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


# Session tokens and validation ---------------------------------------------


async def test_session_token_carries_identity(
    token_service: TokenService,
    config: Config,
    history_service: TokenHistoryService,
) -> None:
    user = UserInfo(
        username="alice",
        name="Alice A",
        email="alice@example.org",
        uid=1001,
        gid=2001,
        groups=[Group(name="org-team", id=3001)],
    )
    token = await token_service.create_session_token(
        user, ["read:tap", "exec:notebook"], ip_address=IP
    )
    data = await _data(token_service, token)
    assert data.username == "alice"
    assert data.token_type is TokenType.session
    assert data.scopes == {"read:tap", "exec:notebook"}
    assert (data.name, data.email, data.uid, data.gid) == (
        "Alice A",
        "alice@example.org",
        1001,
        2001,
    )
    assert data.groups == (Group(name="org-team", id=3001),)
    assert data.expires is not None
    expected = datetime.now(UTC) + config.session_lifetime
    assert abs((data.expires - expected).total_seconds()) < 5

    entries, total, _, _ = await history_service.get_change_history(
        data, username="alice"
    )
    assert total == 1
    assert entries[0].action is TokenChange.create
    assert entries[0].actor == "alice"
    assert entries[0].ip_address == IP


async def test_session_token_rejects_bad_input(token_service: TokenService) -> None:
    with pytest.raises(InputError, match="Unknown scopes"):
        await token_service.create_session_token(
            UserInfo(username="alice"), ["read:everything"], ip_address=None
        )
    with pytest.raises(InputError, match="Invalid username"):
        await token_service.create_session_token(
            UserInfo(username="Not Valid"), [], ip_address=None
        )


async def test_invalid_tokens_do_not_validate(
    token_service: TokenService,
    make_session: MakeSession,
    process_context: ProcessContext,
) -> None:
    token = await make_session("alice")
    assert await token_service.validate(Token(token.key, "x" * 22)) is None
    assert await token_service.validate(Token.generate()) is None
    # Still wrong from the cache, still right after.
    assert await token_service.validate(Token(token.key, "x" * 22)) is None
    assert await token_service.validate(token) is not None

    # Expired in the database (and evicted from the caches).
    async with process_context.sessions.begin() as session:
        record = await session.get(TokenRecord, token.key)
        assert record is not None
        record.expires = _soon(seconds=-1)
    await process_context.token_cache.invalidate([token.key])
    assert await token_service.validate(token) is None


async def test_database_never_holds_the_secret(
    token_service: TokenService,
    make_session: MakeSession,
    process_context: ProcessContext,
) -> None:
    token = await make_session("alice")
    async with process_context.sessions() as session:
        record = await session.get(TokenRecord, token.key)
    assert record is not None
    assert token.secret not in record.secret_hash
    assert record.secret_hash == process_context.token_hasher.hash(token.secret)
    assert len(record.secret_hash) == 64


# Bootstrap token -------------------------------------------------------------


@pytest.fixture
async def bootstrap_service(
    make_config: Callable[..., Config],
) -> AsyncIterator[tuple[TokenService, TokenHistoryService, Token]]:
    bootstrap = Token.generate()
    config = make_config(bootstrap_token=SecretStr(str(bootstrap)))
    context = await ProcessContext.from_config(config)
    try:
        factory = Factory(context)
        yield (
            factory.create_token_service(),
            factory.create_history_service(),
            bootstrap,
        )
    finally:
        await context.aclose()


async def test_bootstrap_token(
    bootstrap_service: tuple[TokenService, TokenHistoryService, Token],
) -> None:
    service, history, bootstrap = bootstrap_service
    data = await _data(service, bootstrap)
    assert data.username == "bootstrap"
    assert data.token_type is TokenType.service
    assert data.scopes == {"admin:token", "admin:userinfo"}
    assert await service.validate(Token(bootstrap.key, "y" * 22)) is None
    info = await service.info_for(data)
    assert info.username == "bootstrap"

    bot = await service.create_admin_token(
        data,
        AdminTokenRequest(
            username="bot-ci", token_type=TokenType.service, scopes=["read:tap"]
        ),
        ip_address=IP,
    )
    bot_data = await _data(service, bot)
    assert bot_data.username == "bot-ci"
    with pytest.raises(PermissionDeniedError, match="bootstrap"):
        await service.get_notebook_token(data, ip_address=None)
    # Never stored: it has no history and no row.
    entries, total, _, _ = await history.get_change_history(data)
    assert all(e.token != bootstrap.key for e in entries)
    assert total == 1


# User tokens -------------------------------------------------------------


async def test_user_token_rules(
    token_service: TokenService, make_session: MakeSession
) -> None:
    alice = await _session_data(
        make_session, token_service, "alice", ["read:tap", "user:token"]
    )
    request = UserTokenRequest(token_name="laptop", scopes=["read:tap"])
    token = await token_service.create_user_token(
        alice, "alice", request, ip_address=IP
    )
    data = await _data(token_service, token)
    assert data.token_type is TokenType.user
    assert data.token_name == "laptop"
    assert data.scopes == {"read:tap"}
    assert data.expires is None

    # Names are unique per user.
    with pytest.raises(InputError, match="already have a token named"):
        await token_service.create_user_token(alice, "alice", request, ip_address=IP)
    # No scope escalation, no unknown scopes.
    with pytest.raises(InsufficientScopeError, match="exec:notebook"):
        await token_service.create_user_token(
            alice,
            "alice",
            UserTokenRequest(token_name="more", scopes=["exec:notebook"]),
            ip_address=IP,
        )
    with pytest.raises(InputError, match="Unknown scopes"):
        await token_service.create_user_token(
            alice,
            "alice",
            UserTokenRequest(token_name="odd", scopes=["read:secrets"]),
            ip_address=IP,
        )
    # Expiry in the future only.
    with pytest.raises(InputError, match="future"):
        await token_service.create_user_token(
            alice,
            "alice",
            UserTokenRequest(token_name="old", expires=_soon(minutes=-1)),
            ip_address=IP,
        )
    # Not for someone else.
    with pytest.raises(PermissionDeniedError):
        await token_service.create_user_token(
            alice, "bob", UserTokenRequest(token_name="x"), ip_address=IP
        )


async def test_user_token_needs_user_token_scope(
    token_service: TokenService, make_session: MakeSession
) -> None:
    alice = await _session_data(make_session, token_service, "alice", ["read:tap"])
    with pytest.raises(InsufficientScopeError, match="user:token"):
        await token_service.create_user_token(
            alice, "alice", UserTokenRequest(token_name="x"), ip_address=IP
        )


async def test_user_token_copies_identity_and_admin_may_grant_any(
    token_service: TokenService,
    make_session: MakeSession,
    history_service: TokenHistoryService,
) -> None:
    token = await make_session(
        "alice", ["user:token", "read:tap"], email="a@example.org", uid=42
    )
    alice = await _data(token_service, token)
    mine = await token_service.create_user_token(
        alice,
        "alice",
        UserTokenRequest(token_name="mine", expires=_soon(days=1)),
        ip_address=IP,
    )
    mine_data = await _data(token_service, mine)
    assert (mine_data.email, mine_data.uid) == ("a@example.org", 42)

    admin = await _session_data(make_session, token_service, "root", ["admin:token"])
    theirs = await token_service.create_user_token(
        admin,
        "alice",
        UserTokenRequest(token_name="given", scopes=["exec:admin"]),
        ip_address=IP,
    )
    data = await _data(token_service, theirs)
    assert data.username == "alice"
    assert data.scopes == {"exec:admin"}
    history, _, _, _ = await history_service.get_change_history(admin, key=data.key)
    assert history[0].actor == "root"


# Admin and service tokens --------------------------------------------------


async def test_admin_token_rules(
    token_service: TokenService, make_session: MakeSession
) -> None:
    admin = await _session_data(make_session, token_service, "root", ["admin:token"])
    alice = await _session_data(
        make_session, token_service, "alice", ["user:token", "read:tap"]
    )
    service_request = AdminTokenRequest(
        username="bot-mobu",
        token_type=TokenType.service,
        scopes=["read:tap", "exec:notebook"],
        uid=5000,
        groups=[Group(name="bots", id=5000)],
    )
    with pytest.raises(PermissionDeniedError, match="admin:token"):
        await token_service.create_admin_token(alice, service_request, ip_address=IP)

    token = await token_service.create_admin_token(
        admin, service_request, ip_address=IP
    )
    data = await _data(token_service, token)
    assert data.token_type is TokenType.service
    assert data.uid == 5000
    assert data.groups == (Group(name="bots", id=5000),)

    with pytest.raises(InputError, match="bot-"):
        await token_service.create_admin_token(
            admin,
            AdminTokenRequest(username="alice", token_type=TokenType.service),
            ip_address=IP,
        )
    with pytest.raises(InputError, match="token_name"):
        await token_service.create_admin_token(
            admin,
            AdminTokenRequest(username="alice", token_type=TokenType.user),
            ip_address=IP,
        )
    for kind in (TokenType.session, TokenType.notebook, TokenType.internal):
        with pytest.raises(InputError, match="Only service and user"):
            await token_service.create_admin_token(
                admin,
                AdminTokenRequest(username="bot-x", token_type=kind),
                ip_address=IP,
            )
    user = await token_service.create_admin_token(
        admin,
        AdminTokenRequest(
            username="alice", token_type=TokenType.user, token_name="from-admin"
        ),
        ip_address=IP,
    )
    assert (await _data(token_service, user)).token_name == "from-admin"


async def test_operator_auth_acts_as_admin(
    token_service: TokenService, history_service: TokenHistoryService
) -> None:
    token = await token_service.create_admin_token(
        operator_auth("<cli>"),
        AdminTokenRequest(username="bot-x", token_type=TokenType.service),
        ip_address=None,
    )
    data = await _data(token_service, token)
    history, _, _, _ = await history_service.get_change_history(
        operator_auth("<cli>"), key=data.key
    )
    assert history[0].actor == "<cli>"


# Children ------------------------------------------------------------------


@pytest.fixture
async def short_children(
    make_config: Callable[..., Config],
) -> AsyncIterator[tuple[TokenService, ProcessContext]]:
    config = make_config(notebook_token_lifetime=timedelta(hours=1))
    context = await ProcessContext.from_config(config)
    try:
        yield Factory(context).create_token_service(), context
    finally:
        await context.aclose()


async def _session(
    service: TokenService, username: str, scopes: list[str]
) -> TokenData:
    token = await service.create_session_token(
        UserInfo(username=username, email=f"{username}@example.org"),
        scopes,
        ip_address=IP,
    )
    return await _data(service, token)


async def test_notebook_token_is_reused_and_capped(
    short_children: tuple[TokenService, ProcessContext],
) -> None:
    service, _ = short_children
    parent = await _session(service, "alice", ["exec:notebook", "read:tap"])
    notebook = await service.get_notebook_token(parent, ip_address=IP)
    data = await _data(service, notebook)
    assert data.token_type is TokenType.notebook
    assert data.parent == parent.key
    assert data.scopes == parent.scopes
    assert data.email == "alice@example.org"
    assert data.expires is not None
    assert abs((data.expires - _soon(hours=1)).total_seconds()) < 5
    assert await service.get_notebook_token(parent, ip_address=IP) == notebook
    assert (
        await service.get_notebook_token(
            parent, ip_address=IP, minimum_lifetime=timedelta(minutes=50)
        )
        == notebook
    )
    with pytest.raises(InputError, match="longer than delegated tokens live"):
        await service.get_notebook_token(
            parent, ip_address=IP, minimum_lifetime=timedelta(hours=2)
        )


async def test_child_never_outlives_parent(
    short_children: tuple[TokenService, ProcessContext],
) -> None:
    service, _ = short_children
    session = await _session(service, "alice", ["user:token", "read:tap"])
    parent_token = await service.create_user_token(
        session,
        "alice",
        UserTokenRequest(
            token_name="short", scopes=["read:tap"], expires=_soon(minutes=10)
        ),
        ip_address=IP,
    )
    parent = await _data(service, parent_token)
    assert parent.expires is not None
    child = await service.get_internal_token(
        parent, service="tap", scopes=["read:tap"], ip_address=IP
    )
    child_data = await _data(service, child)
    assert child_data.expires == parent.expires
    # Reused although it has less than the default minimum left: it cannot
    # live any longer anyway.
    assert (
        await service.get_internal_token(
            parent, service="tap", scopes=["read:tap"], ip_address=IP
        )
        == child
    )
    with pytest.raises(InvalidTokenError, match="log in again"):
        await service.get_internal_token(
            parent,
            service="tap",
            scopes=["read:tap"],
            ip_address=IP,
            minimum_lifetime=timedelta(minutes=15),
        )


async def test_child_with_too_little_life_is_replaced(
    short_children: tuple[TokenService, ProcessContext],
) -> None:
    service, context = short_children
    parent = await _session(service, "alice", ["read:tap"])
    first = await service.get_internal_token(
        parent, service="tap", scopes=["read:tap"], ip_address=IP
    )
    # Pretend the cached child has only ten minutes left.
    for child in context.token_cache._children.values():
        child.expires_at = _soon(minutes=10).timestamp()
    second = await service.get_internal_token(
        parent,
        service="tap",
        scopes=["read:tap"],
        ip_address=IP,
        minimum_lifetime=timedelta(minutes=30),
    )
    assert second != first
    assert await service.validate(first) is not None


async def test_internal_token_scopes(
    token_service: TokenService, make_session: MakeSession
) -> None:
    parent = await _session_data(
        make_session, token_service, "alice", ["read:tap", "read:image"]
    )
    tap = await token_service.get_internal_token(
        parent, service="tap", scopes=["read:tap"], ip_address=IP
    )
    data = await _data(token_service, tap)
    assert data.token_type is TokenType.internal
    assert data.service == "tap"
    assert data.scopes == {"read:tap"}
    other_service = await token_service.get_internal_token(
        parent, service="butler", scopes=["read:tap"], ip_address=IP
    )
    other_scopes = await token_service.get_internal_token(
        parent, service="tap", scopes=["read:tap", "read:image"], ip_address=IP
    )
    none = await token_service.get_internal_token(
        parent, service="tap", scopes=[], ip_address=IP
    )
    assert len({tap, other_service, other_scopes, none}) == 4
    with pytest.raises(InsufficientScopeError, match="exec:notebook"):
        await token_service.get_internal_token(
            parent, service="tap", scopes=["exec:notebook"], ip_address=IP
        )
    with pytest.raises(InputError, match="Unknown scopes"):
        await token_service.get_internal_token(
            parent, service="tap", scopes=["nope"], ip_address=IP
        )
    with pytest.raises(InputError, match="service"):
        await token_service.get_internal_token(
            parent, service="", scopes=[], ip_address=IP
        )


async def test_child_of_revoked_parent_cannot_be_minted(
    token_service: TokenService, make_session: MakeSession
) -> None:
    parent = await _session_data(make_session, token_service, "alice", ["read:tap"])
    await token_service.revoke_session(parent, ip_address=IP)
    with pytest.raises(InvalidTokenError):
        await token_service.get_notebook_token(parent, ip_address=IP)


# Revocation ----------------------------------------------------------------


async def test_revocation_is_recursive_and_recorded(
    token_service: TokenService,
    make_session: MakeSession,
    history_service: TokenHistoryService,
) -> None:
    session = await _session_data(
        make_session, token_service, "alice", ["read:tap", "user:token"]
    )
    notebook = await token_service.get_notebook_token(session, ip_address=IP)
    notebook_data = await _data(token_service, notebook)
    grandchild = await token_service.get_internal_token(
        notebook_data, service="tap", scopes=["read:tap"], ip_address=IP
    )
    other = await make_session("alice")

    await token_service.revoke_token(session, "alice", session.key, ip_address=IP)
    for token in (notebook, grandchild):
        assert await token_service.validate(token) is None
    assert await token_service.validate(other) is not None

    other_data = await _data(token_service, other)
    entries, _, _, _ = await history_service.get_change_history(
        other_data, username="alice"
    )
    revoked = {e.token: e for e in entries if e.action is TokenChange.revoke}
    assert set(revoked) == {session.key, notebook.key, grandchild.key}
    assert all(e.actor == "alice" and e.ip_address == IP for e in revoked.values())
    with pytest.raises(NotFoundError):
        await token_service.revoke_token(
            other_data, "alice", session.key, ip_address=IP
        )


async def test_revocation_permissions(
    token_service: TokenService,
    make_session: MakeSession,
    history_service: TokenHistoryService,
) -> None:
    alice = await _session_data(make_session, token_service, "alice", ["user:token"])
    bob = await _session_data(make_session, token_service, "bob", ["user:token"])
    admin = await _session_data(make_session, token_service, "root", ["admin:token"])
    with pytest.raises(PermissionDeniedError):
        await token_service.revoke_token(bob, "alice", alice.key, ip_address=IP)
    # A token of alice's named under bob's name is not found.
    with pytest.raises(NotFoundError):
        await token_service.revoke_token(admin, "bob", alice.key, ip_address=IP)
    await token_service.revoke_token(admin, "alice", alice.key, ip_address=IP)
    entries, _, _, _ = await history_service.get_change_history(admin, key=alice.key)
    assert entries[0].action is TokenChange.revoke
    assert entries[0].actor == "root"


async def test_revoke_session_is_logout(
    token_service: TokenService, make_session: MakeSession
) -> None:
    token = await make_session("alice")
    data = await _data(token_service, token)
    child = await token_service.get_notebook_token(data, ip_address=IP)
    await token_service.revoke_session(data, ip_address=IP)
    assert await token_service.validate(token) is None
    assert await token_service.validate(child) is None


# Reading -------------------------------------------------------------------


async def test_reading_tokens(
    token_service: TokenService, make_session: MakeSession
) -> None:
    alice = await _session_data(
        make_session, token_service, "alice", ["user:token", "read:tap"]
    )
    bob = await _session_data(make_session, token_service, "bob", ["user:token"])
    admin = await _session_data(make_session, token_service, "root", ["admin:token"])
    user = await token_service.create_user_token(
        alice, "alice", UserTokenRequest(token_name="one"), ip_address=IP
    )
    listed = await token_service.list_tokens(alice, "alice")
    assert {t.token for t in listed} == {alice.key, user.key}
    assert {t.token for t in await token_service.list_tokens(admin, "alice")} == {
        alice.key,
        user.key,
    }
    with pytest.raises(PermissionDeniedError):
        await token_service.list_tokens(bob, "alice")
    info = await token_service.get_token_info(alice, "alice", user.key)
    assert info.token_name == "one"
    assert info.token_type is TokenType.user
    with pytest.raises(NotFoundError):
        await token_service.get_token_info(alice, "alice", "x" * 22)
    with pytest.raises(NotFoundError):
        await token_service.get_token_info(bob, "bob", user.key)
    with pytest.raises(PermissionDeniedError):
        await token_service.get_token_info(bob, "alice", user.key)
    own = await token_service.info_for(alice)
    assert own.token == alice.key
    assert own.token_type is TokenType.session


async def test_last_used_is_batched(
    token_service: TokenService,
    make_session: MakeSession,
    process_context: ProcessContext,
) -> None:
    token = await make_session("alice")
    data = await _data(token_service, token)
    info = await token_service.info_for(data)
    assert info.last_used is not None  # pending, not yet written
    async with process_context.sessions() as session:
        record = await session.get(TokenRecord, token.key)
        assert record is not None
        assert record.last_used is None
    assert await process_context.last_used.flush() == 1
    assert await process_context.last_used.flush() == 0
    async with process_context.sessions() as session:
        stored = (
            await session.execute(
                select(TokenRecord.last_used).where(TokenRecord.key == token.key)
            )
        ).scalar_one()
    assert stored is not None
    assert abs((stored - datetime.now(UTC)).total_seconds()) < 5


# Changes -------------------------------------------------------------------


async def test_modify_user_token(
    token_service: TokenService,
    make_session: MakeSession,
    history_service: TokenHistoryService,
) -> None:
    alice = await _session_data(
        make_session, token_service, "alice", ["user:token", "read:tap", "read:image"]
    )
    token = await token_service.create_user_token(
        alice,
        "alice",
        UserTokenRequest(token_name="one", scopes=["read:tap", "read:image"]),
        ip_address=IP,
    )
    await token_service.create_user_token(
        alice, "alice", UserTokenRequest(token_name="two"), ip_address=IP
    )
    data = await _data(token_service, token)
    child = await token_service.get_internal_token(
        data, service="tap", scopes=["read:tap"], ip_address=IP
    )

    expires = _soon(days=3).replace(microsecond=0)
    info = await token_service.modify_token(
        alice,
        "alice",
        token.key,
        UserTokenModifyRequest(token_name="renamed", expires=expires),
        ip_address=IP,
    )
    assert info.token_name == "renamed"
    assert info.expires == expires
    # Shorter life: the child (which could outlive it) is revoked.
    assert await token_service.validate(child) is None
    assert (await _data(token_service, token)).token_name == "renamed"

    entries, _, _, _ = await history_service.get_change_history(
        alice, username="alice", key=token.key
    )
    edit = entries[0]
    assert edit.action is TokenChange.edit
    assert edit.old_token_name == "one"
    assert edit.old_expires is None
    assert edit.old_scopes is None
    assert edit.expires == expires

    info = await token_service.modify_token(
        alice,
        "alice",
        token.key,
        UserTokenModifyRequest.model_validate(
            {"expires": None, "scopes": ["read:tap"]}
        ),
        ip_address=IP,
    )
    assert info.expires is None
    assert info.scopes == ["read:tap"]
    entries, _, _, _ = await history_service.get_change_history(
        alice, username="alice", key=token.key
    )
    assert entries[0].old_scopes == ["read:image", "read:tap"]
    assert entries[0].old_expires == expires
    assert (await _data(token_service, token)).scopes == {"read:tap"}

    with pytest.raises(InputError, match="already have"):
        await token_service.modify_token(
            alice,
            "alice",
            token.key,
            UserTokenModifyRequest(token_name="two"),
            ip_address=IP,
        )
    with pytest.raises(InsufficientScopeError):
        await token_service.modify_token(
            alice,
            "alice",
            token.key,
            UserTokenModifyRequest(scopes=["admin:token"]),
            ip_address=IP,
        )
    with pytest.raises(PermissionDeniedError, match="Only user tokens"):
        await token_service.modify_token(
            alice,
            "alice",
            alice.key,
            UserTokenModifyRequest(token_name="sess"),
            ip_address=IP,
        )
    with pytest.raises(InputError, match="future"):
        await token_service.modify_token(
            alice,
            "alice",
            token.key,
            UserTokenModifyRequest(expires=_soon(days=-1)),
            ip_address=IP,
        )
    # An unchanged request records nothing.
    _, before, _, _ = await history_service.get_change_history(
        alice, username="alice", key=token.key
    )
    await token_service.modify_token(
        alice, "alice", token.key, UserTokenModifyRequest(), ip_address=IP
    )
    _, after, _, _ = await history_service.get_change_history(
        alice, username="alice", key=token.key
    )
    assert before == after


async def test_widening_keeps_children(
    token_service: TokenService, make_session: MakeSession
) -> None:
    alice = await _session_data(
        make_session, token_service, "alice", ["user:token", "read:tap", "read:image"]
    )
    token = await token_service.create_user_token(
        alice,
        "alice",
        UserTokenRequest(token_name="one", scopes=["read:tap"]),
        ip_address=IP,
    )
    data = await _data(token_service, token)
    child = await token_service.get_notebook_token(data, ip_address=IP)
    await token_service.modify_token(
        alice,
        "alice",
        token.key,
        UserTokenModifyRequest(scopes=["read:tap", "read:image"]),
        ip_address=IP,
    )
    assert await token_service.validate(child) is not None
    assert (await _data(token_service, token)).scopes == {"read:tap", "read:image"}


@pytest.mark.parametrize("bad", ["a\x00b", "x" * 200, "Upper", ""])
async def test_odd_names_and_keys_are_refused_not_crashes(
    token_service: TokenService,
    make_session: MakeSession,
    bad: str,
    history_service: TokenHistoryService,
) -> None:
    admin = await _session_data(make_session, token_service, "root", ["admin:token"])
    with pytest.raises(InputError):
        await token_service.list_tokens(admin, bad)
    with pytest.raises(InputError):
        await history_service.get_change_history(admin, username=bad)
    with pytest.raises(InputError):
        await token_service.revoke_token(admin, bad, admin.key, ip_address=None)
    with pytest.raises(NotFoundError):
        await token_service.get_token_info(admin, "root", bad)
    with pytest.raises(NotFoundError):
        await token_service.revoke_token(admin, "root", bad, ip_address=None)
    with pytest.raises(NotFoundError):
        await token_service.modify_token(
            admin, "root", bad, UserTokenModifyRequest(), ip_address=None
        )
    with pytest.raises(InputError):
        await history_service.get_change_history(admin, key=bad)
