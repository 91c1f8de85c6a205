"""Redis: the shared token cache and the channel that fans evictions out.

Every process subscribes to one pub/sub channel. A revocation or change of
a token publishes its keys there and every subscriber evicts them from its
in-process cache at once. In Redis itself the entry is replaced by a
tombstone for one cache TTL, so that a process that read the token just
before the change cannot put a stale copy back (entries are only written
with ``NX``).

The channel is *healthy* only while subscribed. Whenever it is not (Redis
unreachable, connection dropped, no answer to pings), callers bypass every
cache and read the database; when the subscription is back the local
cache is cleared, since events may have been missed meanwhile.

With a ``rediss://`` URL the server's certificate is always verified
(against :class:`RedisTLS`'s CA file, or the system's CAs), whatever the
URL's query says: there is no fallback to an unverified connection.

An eviction that could not be published (a passing Redis error seen only by
the revoking process) is kept and published again by the subscriber loop
until it goes through, so other processes learn of it within moments rather
than when their cached copy expires.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import structlog
from cryptography.fernet import Fernet, InvalidToken
from pydantic import ValidationError
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import parse_url
from redis.exceptions import RedisError

from ..models.token import Token, TokenData

if TYPE_CHECKING:
    from .cache import ChildKey

__all__ = ["RedisTLS", "TokenEventChannel"]

_TOMBSTONE = "-"
_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


def _ignore_keys(_keys: list[str]) -> None:
    pass


def _ignore() -> None:
    pass


@dataclass(frozen=True)
class RedisTLS:
    """How Redis's TLS certificate is verified (``rediss://`` URLs only)."""

    ca_file: Path | None = None
    """PEM file of the CA(s) the certificate must chain to; none: system CAs."""

    check_hostname: bool = True
    """Whether the certificate must also name the host of the URL."""

    def connection_options(self) -> dict[str, Any]:
        """redis-py's TLS options: a verified certificate, TLS 1.2 or later."""
        options: dict[str, Any] = {
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
            "ssl_check_hostname": self.check_hostname,
            "ssl_min_version": ssl.TLSVersion.TLSv1_2,
        }
        if self.ca_file is not None:
            options["ssl_ca_certs"] = str(self.ca_file)
        return options


def _client(url: str, tls: RedisTLS | None, **options: Any) -> Redis:
    """A client of ``url`` whose TLS options win over the URL's query.

    ``Redis.from_url`` lets the URL's query override every option (so
    ``?ssl_cert_reqs=none`` would turn verification off); here the TLS
    options are applied last.

    Raises
    ------
    ValueError
        If ``tls`` names a CA file but the URL is not ``rediss://``.
    """
    scheme = urlsplit(url).scheme
    kwargs: dict[str, Any] = {**options, **parse_url(url)}
    if scheme == "rediss":
        kwargs.update((tls or RedisTLS()).connection_options())
    elif tls is not None and tls.ca_file is not None:
        raise ValueError("a Redis CA file needs a rediss:// URL")
    return Redis.from_pool(ConnectionPool(**kwargs))


class TokenEventChannel:
    """Shared Redis cache plus the eviction fan-out subscription.

    Parameters
    ----------
    url
        Redis URL.
    prefix
        Prefix of every key and of the channel name.
    secret
        Key from which child tokens kept in Redis are encrypted, so that
        Redis never holds a usable token in clear.
    ping_interval
        Seconds between pings on the subscription; three intervals without
        any answer count as a lost subscription.
    tls
        How the server's certificate is verified with a ``rediss://`` URL
        (default: against the system's CAs, host name checked).

    Raises
    ------
    ValueError
        If ``tls`` names a CA file but the URL is not ``rediss://``.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        secret: str,
        ping_interval: float = 2.0,
        tls: RedisTLS | None = None,
    ) -> None:
        options: dict[str, Any] = {
            "decode_responses": True,
            "socket_connect_timeout": 0.5,
            "socket_timeout": 1.0,
        }
        self._redis: Redis = _client(url, tls, **options)
        self._subscriber: Redis = _client(
            url, tls, client_name=f"{prefix}:events", **options
        )
        self._prefix = prefix
        self._ping_interval = ping_interval
        self._channel_name = f"{prefix}:events"
        derived = hmac.digest(
            secret.encode(), b"rsp-gateway child token cache", "sha256"
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self._logger = structlog.get_logger("rsp_gateway.fanout")
        self._task: asyncio.Task[None] | None = None
        self._healthy = False
        self._subscribed = asyncio.Event()
        self._warned_command = False
        self._unpublished: set[str] = set()
        self._tombstone_ttl = 300
        self.on_evict: Callable[[list[str]], None] = _ignore_keys
        self.on_resync: Callable[[], None] = _ignore

    @property
    def healthy(self) -> bool:
        """Whether the subscription is live (caches may be trusted)."""
        return self._healthy

    @property
    def redis(self) -> Redis:
        """The Redis client for commands."""
        return self._redis

    @property
    def channel_name(self) -> str:
        """Name of the pub/sub channel."""
        return self._channel_name

    def start(self) -> None:
        """Start the subscriber task."""
        if self._task is None:
            self._task = asyncio.create_task(
                self._listen(), name="token-event-subscriber"
            )

    async def wait_subscribed(self) -> bool:
        """Wait until subscribed; whether it is (call under a timeout)."""
        await self._subscribed.wait()
        return self._healthy

    async def aclose(self) -> None:
        """Stop the subscriber and close the connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set_healthy(healthy=False)
        await self._redis.aclose()
        await self._subscriber.aclose()

    async def get_token(self, key: str) -> tuple[str, TokenData] | None:
        """A token's hash and data from the shared cache, if there."""
        try:
            raw = await self._redis.get(self._token_key(key))
        except _ERRORS as e:
            self._command_failed(e)
            return None
        if not raw or raw == _TOMBSTONE:
            return None
        try:
            stored = json.loads(raw)
            return str(stored["h"]), TokenData.model_validate_json(stored["d"])
        except (ValueError, KeyError, TypeError, ValidationError):
            return None

    async def put_token(
        self, key: str, secret_hash: str, data: TokenData, ttl: int
    ) -> None:
        """Share a token's hash and data (never over a tombstone)."""
        value = json.dumps({"h": secret_hash, "d": data.model_dump_json()})
        try:
            await self._redis.set(self._token_key(key), value, ex=ttl, nx=True)
        except _ERRORS as e:
            self._command_failed(e)

    async def get_child(self, key: ChildKey) -> Token | None:
        """A child token shared by another process, decrypted."""
        try:
            raw = await self._redis.get(self._child_key(key))
        except _ERRORS as e:
            self._command_failed(e)
            return None
        if not raw:
            return None
        try:
            sealed = raw if isinstance(raw, bytes) else raw.encode()
            return Token.from_str(self._fernet.decrypt(sealed).decode())
        except (InvalidToken, ValueError):
            return None

    async def put_child(self, key: ChildKey, token: Token, ttl: int) -> None:
        """Share a child token, encrypted, for at most its remaining life."""
        value = self._fernet.encrypt(str(token).encode()).decode()
        try:
            await self._redis.set(self._child_key(key), value, ex=ttl)
        except _ERRORS as e:
            self._command_failed(e)

    async def invalidate(self, keys: Iterable[str], tombstone_ttl: int) -> None:
        """Tombstone the shared entries and tell every process to evict."""
        doomed = sorted(set(keys) | self._unpublished)
        self._tombstone_ttl = tombstone_ttl
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in doomed:
                    pipe.set(self._token_key(key), _TOMBSTONE, ex=tombstone_ttl)
                pipe.publish(self._channel_name, json.dumps({"evict": doomed}))
                await pipe.execute()
        except _ERRORS as e:
            self._unpublished.update(doomed)
            self._logger.warning(
                "Could not publish token eviction; retrying until it goes through",
                keys=doomed,
                error=str(e),
            )
        else:
            self._unpublished.difference_update(doomed)

    @property
    def unpublished(self) -> frozenset[str]:
        """Keys whose eviction still waits to be published."""
        return frozenset(self._unpublished)

    async def _retry_unpublished(self) -> None:
        if self._unpublished:
            await self.invalidate((), self._tombstone_ttl)

    def _token_key(self, key: str) -> str:
        return f"{self._prefix}:token:{key}"

    def _child_key(self, key: ChildKey) -> str:
        scopes = hashlib.sha256(" ".join(sorted(key.scopes)).encode()).hexdigest()[:24]
        service = key.service or ""
        return f"{self._prefix}:child:{key.parent}:{key.token_type}:{service}:{scopes}"

    def _command_failed(self, error: BaseException) -> None:
        if not self._warned_command:
            self._warned_command = True
            self._logger.warning(
                "Redis command failed; using the database", error=str(error)
            )

    def _set_healthy(self, *, healthy: bool) -> None:
        if healthy and not self._healthy:
            self.on_resync()
            self._warned_command = False
        self._healthy = healthy
        if healthy:
            self._subscribed.set()
        else:
            self._subscribed.clear()

    def _handle(self, data: object) -> None:
        try:
            keys = json.loads(str(data))["evict"]
        except (ValueError, KeyError, TypeError):
            self._logger.warning("Ignoring malformed token event")
            return
        self.on_evict([str(k) for k in keys])

    async def _listen(self) -> None:
        backoff = 0.1
        loop = asyncio.get_running_loop()
        while True:
            pubsub = self._subscriber.pubsub()
            try:
                await pubsub.subscribe(self._channel_name)
                last_ping = last_seen = loop.time()
                while True:
                    message = await pubsub.get_message(
                        timeout=min(0.5, self._ping_interval)
                    )
                    now = loop.time()
                    if message is not None:
                        # Any answer, pongs included (whose shape varies
                        # with the protocol version), proves the link alive.
                        last_seen = now
                        kind = message["type"]
                        if kind == "message":
                            self._handle(message["data"])
                        elif kind == "subscribe":
                            self._set_healthy(healthy=True)
                            backoff = 0.1
                            self._logger.info("Subscribed to token events")
                    if self._healthy:
                        await self._retry_unpublished()
                    if now - last_ping >= self._ping_interval:
                        await pubsub.ping()
                        last_ping = now
                    if now - last_seen > 3 * self._ping_interval:
                        raise TimeoutError("Redis stopped answering pings")
            except _ERRORS as e:
                if self._healthy or backoff == 0.1:
                    self._logger.warning(
                        "Token event subscription lost; bypassing caches until back",
                        error=str(e),
                    )
                self._set_healthy(healthy=False)
            finally:
                with contextlib.suppress(*_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
