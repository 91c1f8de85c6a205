"""The token cache: in-process hits, TTL, eviction, Redis sharing and fan-out."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis.asyncio
import redis.exceptions
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.models.token import Token, TokenData
from rsp_gateway.models.userinfo import UserInfo
from rsp_gateway.schema import TokenRecord
from rsp_gateway.services.token import TokenService
from rsp_gateway.storage.cache import CachedToken, TokenCache
from rsp_gateway.storage.fanout import TokenEventChannel
from sqlalchemy import event

SCOPES = ["read:tap", "user:token", "exec:notebook"]


@contextmanager
def count_queries(context: ProcessContext) -> Iterator[list[str]]:
    """Collect the SQL statements the context's engine runs meanwhile."""
    statements: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(context.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(context.engine.sync_engine, "before_cursor_execute", before)


async def _login(
    service: TokenService, username: str = "alice"
) -> tuple[Token, TokenData]:
    token = await service.create_session_token(
        UserInfo(username=username), SCOPES, ip_address=None
    )
    data = await service.validate(token)
    assert data is not None
    return token, data


@pytest.fixture
async def workers(
    make_config: Callable[..., Config],
) -> AsyncIterator[list[ProcessContext]]:
    """Two process contexts on the same database and Redis: two workers."""
    config = make_config()
    contexts = [await ProcessContext.from_config(config) for _ in range(2)]
    try:
        for context in contexts:
            assert await context.wait_for_redis(within=5)
        yield contexts
    finally:
        for context in contexts:
            await context.aclose()


def _service(context: ProcessContext) -> TokenService:
    return Factory(context).create_token_service()


async def test_hit_needs_neither_database_nor_redis(
    token_service: TokenService, process_context: ProcessContext
) -> None:
    token, data = await _login(token_service)
    assert token.key in process_context.token_cache
    channel = process_context.token_cache.channel
    assert channel is not None
    before = channel.redis.connection_pool
    with count_queries(process_context) as statements:
        for _ in range(5):
            assert await token_service.validate(token) == data
        # A wrong secret is refused from the cache too.
        assert await token_service.validate(Token(token.key, "z" * 22)) is None
    assert statements == []
    assert channel.redis.connection_pool is before


async def test_unknown_keys_are_cached_as_invalid(
    token_service: TokenService, process_context: ProcessContext
) -> None:
    stranger = Token.generate()
    with count_queries(process_context) as statements:
        for _ in range(3):
            assert await token_service.validate(stranger) is None
    assert len(statements) == 1


async def test_ttl(make_config: Callable[..., Config]) -> None:
    context = await ProcessContext.from_config(make_config(redis_url=None))
    try:
        service = _service(context)
        token, _ = await _login(service)
        entry = context.token_cache.get(token.key)
        assert entry is not None
        entry.stored_at -= context.config.cache_ttl.total_seconds() + 1
        with count_queries(context) as statements:
            assert await service.validate(token) is not None
            assert await service.validate(token) is not None
        assert len(statements) == 1  # reloaded once, then cached again
    finally:
        await context.aclose()


async def test_expiry_is_checked_on_cached_entries(
    token_service: TokenService, process_context: ProcessContext
) -> None:
    token, _ = await _login(token_service)
    entry = process_context.token_cache.get(token.key)
    assert entry is not None
    entry.expires_at = time.time() - 1
    assert await token_service.validate(token) is None


async def test_revocation_evicts(
    token_service: TokenService, process_context: ProcessContext
) -> None:
    token, data = await _login(token_service)
    child = await token_service.get_notebook_token(data, ip_address=None)
    assert await token_service.validate(child) is not None
    cache = process_context.token_cache
    assert child.key in cache
    assert len(cache._children) == 1
    await token_service.revoke_session(data, ip_address=None)
    assert token.key not in cache
    assert child.key not in cache
    assert cache._children == {}
    assert cache._child_index == {}
    assert await token_service.validate(token) is None


def test_answers_read_before_an_eviction_are_not_cached() -> None:
    cache = TokenCache(60)
    generation = cache.generation
    cache.evict(["k" * 22])
    cache.put("k" * 22, CachedToken("h", None, None, time.monotonic()), generation)
    assert "k" * 22 not in cache
    cache.put(
        "k" * 22, CachedToken("h", None, None, time.monotonic()), cache.generation
    )
    assert "k" * 22 in cache


async def test_revocation_reaches_other_worker_within_100ms(
    workers: list[ProcessContext],
) -> None:
    first, second = workers
    token, data = await _login(_service(first))
    child = await _service(first).get_notebook_token(data, ip_address=None)
    # The second worker reuses the child shared through Redis.
    second_data = await _service(second).validate(token)
    assert second_data is not None
    assert (
        await _service(second).get_notebook_token(second_data, ip_address=None) == child
    )
    assert token.key in second.token_cache
    assert child.key in second.token_cache

    started = time.perf_counter()
    await _service(first).revoke_session(data, ip_address=None)
    while token.key in second.token_cache or second.token_cache._children:
        assert time.perf_counter() - started < 0.1, "eviction took 100 ms or more"
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.1
    assert await _service(second).validate(token) is None
    assert await _service(second).validate(child) is None


async def test_failed_eviction_is_published_again(
    workers: list[ProcessContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = workers
    token, data = await _login(_service(first))
    assert await _service(second).validate(token) == data
    channel = first.token_cache.channel
    assert channel is not None
    real_pipeline = channel.redis.pipeline
    failures = iter([True])

    def flaky_pipeline(*args: Any, **kwargs: Any) -> Any:
        if next(failures, False):
            raise redis.exceptions.ConnectionError("passing failure")
        return real_pipeline(*args, **kwargs)

    monkeypatch.setattr(channel.redis, "pipeline", flaky_pipeline)
    # The first worker revokes while its publish fails: the second still has
    # its copy, and learns of the revocation when the retry goes through.
    await _service(first).revoke_session(data, ip_address=None)
    assert token.key in channel.unpublished
    started = time.monotonic()
    while token.key in second.token_cache:
        assert time.monotonic() - started < 2, "the eviction was never re-published"
        await asyncio.sleep(0.01)
    assert not channel.unpublished
    assert await _service(second).validate(token) is None


async def test_shared_cache_spares_the_other_workers_database(
    workers: list[ProcessContext],
) -> None:
    first, second = workers
    token, data = await _login(_service(first))
    with count_queries(second) as statements:
        assert await _service(second).validate(token) == data
    assert statements == []


async def test_stale_copy_cannot_overwrite_tombstone(
    workers: list[ProcessContext],
) -> None:
    first, second = workers
    token, _ = await _login(_service(first))
    entry = first.token_cache.get(token.key)
    assert entry is not None
    await first.token_cache.invalidate([token.key])
    # A worker that read the token just before tries to share it afterwards.
    await second.token_cache.put_shared(token.key, entry)
    assert await second.token_cache.get_shared(token.key) is None


async def test_without_subscription_caches_are_bypassed(
    workers: list[ProcessContext],
) -> None:
    first, second = workers
    token, data = await _login(_service(first))
    assert await _service(second).validate(token) == data
    channel = second.token_cache.channel
    assert channel is not None
    # The subscription of the second worker goes away: no more events.
    assert channel._task is not None
    channel._task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await channel._task
    channel._task = None
    channel._healthy = False
    with count_queries(second) as statements:
        assert await _service(second).validate(token) == data
    assert len(statements) == 1
    # Revocation elsewhere is seen at once although no event arrives.
    await _service(first).revoke_session(data, ip_address=None)
    assert await _service(second).validate(token) is None


async def test_dropped_subscription_recovers_and_resyncs(
    workers: list[ProcessContext], redis_url: str, redis_prefix: str
) -> None:
    _, second = workers
    token, _ = await _login(_service(second))
    assert token.key in second.token_cache
    admin = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        clients = await admin.client_list()
        ours = [c["id"] for c in clients if c.get("name") == f"{redis_prefix}:events"]
        assert ours
        for client_id in ours:
            await admin.client_kill_filter(_id=client_id)
    finally:
        await admin.aclose()
    channel = second.token_cache.channel
    assert channel is not None
    # The subscriber notices, reconnects, and clears what it may have missed.
    deadline = time.monotonic() + 5
    while token.key in second.token_cache or not channel.healthy:
        assert time.monotonic() < deadline, "the subscription did not recover"
        await asyncio.sleep(0.01)
    assert await _service(second).validate(token) is not None


async def test_redis_down_still_serves_from_database(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = make_config(redis_url=SecretStr(f"redis://127.0.0.1:{port}/0"))
    context = await ProcessContext.from_config(config)
    try:
        assert not await context.wait_for_redis(within=0.3)
        service = _service(context)
        token, data = await _login(service)
        assert await service.validate(token) == data
        child = await service.get_notebook_token(data, ip_address=None)
        assert await service.get_notebook_token(data, ip_address=None) == child
        await service.revoke_session(data, ip_address=None)
        assert await service.validate(token) is None
        assert await service.validate(child) is None
    finally:
        await context.aclose()
    output = capsys.readouterr().out
    assert "Token event subscription lost" in output


async def test_subscription_stays_healthy_across_pings(
    redis_url: str, redis_prefix: str
) -> None:
    channel = TokenEventChannel(
        redis_url, prefix=redis_prefix, secret="k" * 32, ping_interval=0.05
    )
    channel.start()
    try:
        async with asyncio.timeout(5):
            assert await channel.wait_subscribed()
        await asyncio.sleep(0.5)  # ten ping intervals
        assert channel.healthy
    finally:
        await channel.aclose()


async def test_last_use_is_written_at_shutdown(
    make_config: Callable[..., Config],
) -> None:
    context = await ProcessContext.from_config(make_config(redis_url=None))
    service = _service(context)
    token, _ = await _login(service)
    assert await service.validate(token) is not None
    await context.aclose()
    check = await ProcessContext.from_config(make_config(redis_url=None))
    try:
        async with check.sessions() as session:
            record = await session.get(TokenRecord, token.key)
        assert record is not None
        assert record.last_used is not None
    finally:
        await check.aclose()
