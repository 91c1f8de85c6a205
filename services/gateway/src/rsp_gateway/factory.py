"""Process-wide resources and the factory that builds services from them.

:class:`ProcessContext` holds what lives as long as a worker process: the
database engine, the token cache with its Redis channel, the last-used
recorder and the HTTP client. :class:`Factory` builds services from it,
per request or per command.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from structlog.stdlib import BoundLogger

from .config import Config
from .services.group_refresh import GroupRefreshService, refresh_period
from .services.history import TokenHistoryService
from .services.login import LoginService
from .services.maintenance import TokenMaintenanceService
from .services.refresh_loop import GroupRefreshLoop
from .services.token import TokenService
from .services.token_rules import TokenHasher
from .services.userinfo import UserInfoService
from .storage.cache import ChildKey, TokenCache
from .storage.database import (
    check_database_schema,
    create_database_engine,
    create_session_maker,
)
from .storage.fanout import RedisTLS, TokenEventChannel
from .storage.github import GitHubStorage
from .storage.last_used import LastUsedRecorder
from .storage.session import SessionCookieCodec

__all__ = ["Factory", "ProcessContext"]


@dataclass(slots=True)
class ProcessContext:
    """Resources that live as long as the process: made once at start-up."""

    config: Config
    cookie_codec: SessionCookieCodec
    http_client: httpx.AsyncClient
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    token_cache: TokenCache
    last_used: LastUsedRecorder
    token_hasher: TokenHasher
    child_locks: dict[ChildKey, asyncio.Lock] = field(default_factory=dict)
    shared_token_service: TokenService | None = None
    """The token service without a request-bound logger, made once (hot path)."""
    group_refresh: GroupRefreshLoop | None = None
    """The background refresh of GitHub sessions, once started (servers only)."""

    @classmethod
    async def from_config(
        cls, config: Config, *, last_used_interval: float = 10.0
    ) -> ProcessContext:
        """Open every process-wide resource and start the background tasks.

        Nothing here needs the database or Redis to be reachable yet: the
        engine connects lazily and the Redis subscriber retries on its own.
        """
        engine = create_database_engine(
            config.database_url.get_secret_value(), pool_size=config.database_pool_size
        )
        sessions = create_session_maker(engine)
        channel = None
        if config.redis_url is not None:
            channel = TokenEventChannel(
                config.redis_url.get_secret_value(),
                prefix=config.redis_prefix,
                secret=config.token_hash_key.get_secret_value(),
                tls=RedisTLS(
                    ca_file=config.redis_ca_file,
                    check_hostname=config.redis_tls_check_hostname,
                ),
            )
            channel.start()
        last_used = LastUsedRecorder(sessions, interval=last_used_interval)
        last_used.start()
        return cls(
            config=config,
            cookie_codec=SessionCookieCodec(config.session_secret.get_secret_value()),
            http_client=httpx.AsyncClient(timeout=30),
            engine=engine,
            sessions=sessions,
            token_cache=TokenCache(config.cache_ttl.total_seconds(), channel=channel),
            last_used=last_used,
            token_hasher=TokenHasher(config.token_hash_key.get_secret_value()),
        )

    async def check_schema(self) -> None:
        """Refuse to run on a database schema other than this code's.

        Raises
        ------
        DatabaseSchemaError
            Telling the operator to run ``rsp-gateway migrate``.
        """
        await check_database_schema(self.engine)

    async def wait_for_redis(self, within: float = 1.0) -> bool:
        """Wait a little for the Redis subscription (if any); whether it is live."""
        channel = self.token_cache.channel
        if channel is None:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await channel.wait_subscribed()
        return channel.healthy

    def start_group_refresh(self) -> None:
        """Start refreshing due GitHub sessions in the background.

        Only when GitHub login is configured and ``group_refresh_interval``
        is not 0; every ``refresh_period`` of the interval.
        """
        service = Factory(self).create_group_refresh_service()
        if self.group_refresh is not None or not service.enabled:
            return
        period = refresh_period(self.config.group_refresh_interval)
        self.group_refresh = GroupRefreshLoop(service.refresh_due, period=period)
        self.group_refresh.start()

    async def aclose(self) -> None:
        """Stop the background tasks, write pending last uses, release everything."""
        if self.group_refresh is not None:
            await self.group_refresh.aclose()
        await self.last_used.aclose()
        channel = self.token_cache.channel
        if channel is not None:
            await channel.aclose()
        await self.engine.dispose()
        await self.http_client.aclose()


class Factory:
    """Builds the services a request or a command needs."""

    def __init__(self, context: ProcessContext) -> None:
        self._context = context

    @property
    def context(self) -> ProcessContext:
        """The process-wide resources."""
        return self._context

    @property
    def config(self) -> Config:
        """The gateway's configuration."""
        return self._context.config

    def create_token_service(self, logger: BoundLogger | None = None) -> TokenService:
        """The token service (logging with ``logger`` if given).

        Without a logger the process-wide instance is returned: the service
        keeps no per-request state, and the ingress path saves building it.
        """
        context = self._context
        if logger is None and context.shared_token_service is not None:
            return context.shared_token_service
        service = TokenService(
            config=context.config,
            sessions=context.sessions,
            cache=context.token_cache,
            last_used=context.last_used,
            hasher=context.token_hasher,
            child_locks=context.child_locks,
            logger=logger or structlog.get_logger("rsp_gateway"),
        )
        if logger is None:
            context.shared_token_service = service
        return service

    def create_history_service(self) -> TokenHistoryService:
        """The reading of token change history."""
        return TokenHistoryService(
            config=self._context.config, sessions=self._context.sessions
        )

    def create_maintenance_service(
        self, logger: BoundLogger | None = None
    ) -> TokenMaintenanceService:
        """Expiry of tokens and trimming of history."""
        context = self._context
        return TokenMaintenanceService(
            config=context.config,
            sessions=context.sessions,
            cache=context.token_cache,
            logger=logger or structlog.get_logger("rsp_gateway"),
        )

    def create_user_info_service(self) -> UserInfoService:
        """The service that answers who a user is."""
        return UserInfoService(self._context.sessions)

    def create_login_service(self, logger: BoundLogger | None = None) -> LoginService:
        """The browser login service (GitHub or the development provider)."""
        return LoginService(
            config=self.config,
            token_service=self.create_token_service(),
            github=self._github(),
            logger=logger or structlog.get_logger("rsp_gateway"),
        )

    def create_group_refresh_service(
        self, logger: BoundLogger | None = None
    ) -> GroupRefreshService:
        """The refresh of live GitHub sessions' groups and scopes."""
        context = self._context
        return GroupRefreshService(
            config=context.config,
            sessions=context.sessions,
            cache=context.token_cache,
            github=self._github(),
            logger=logger or structlog.get_logger("rsp_gateway"),
        )

    def _github(self) -> GitHubStorage | None:
        """GitHub, with the login's callback URL, if GitHub login is configured."""
        config = self.config
        if config.github is None:
            return None
        return GitHubStorage(config.github, redirect_uri=f"{config.origin}/login")
