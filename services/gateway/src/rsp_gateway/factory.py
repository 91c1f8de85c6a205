"""Process-wide resources and the factory that builds services from them.

SKELETON: the token-core work adds the database engine, Redis and the token
cache to :class:`ProcessContext` and fills in the ``create_*`` methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import structlog
from structlog.stdlib import BoundLogger

from .config import Config
from .services.login import LoginService
from .services.token import TokenService
from .storage.github import GitHubStorage
from .storage.session import SessionCookieCodec

__all__ = ["Factory", "ProcessContext"]


@dataclass(slots=True)
class ProcessContext:
    """Resources that live as long as the process: made once at start-up."""

    config: Config
    cookie_codec: SessionCookieCodec
    http_client: httpx.AsyncClient

    @classmethod
    async def from_config(cls, config: Config) -> ProcessContext:
        """Open every process-wide resource."""
        return cls(
            config=config,
            cookie_codec=SessionCookieCodec(config.session_secret.get_secret_value()),
            http_client=httpx.AsyncClient(timeout=30),
        )

    async def aclose(self) -> None:
        """Release every resource."""
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

    def create_token_service(self) -> TokenService:
        """The token service."""
        return TokenService()

    def create_login_service(self, logger: BoundLogger | None = None) -> LoginService:
        """The browser login service (GitHub or the development provider)."""
        config = self.config
        github = None
        if config.github is not None:
            callback = f"{config.origin}/login"
            github = GitHubStorage(config.github, redirect_uri=callback)
        return LoginService(
            config=config,
            token_service=self.create_token_service(),
            github=github,
            logger=logger or structlog.get_logger("rsp_gateway"),
        )
