"""Fixtures shared by the gateway's tests.

Each test session gets its own PostgreSQL database (``gw_test_<random>``,
migrated with Alembic, dropped at the end) and its own Redis key prefix
(cleaned at the end). Tables are emptied after every test that used them.

Fixtures for everyone:

- ``database_url``: URL of the session's migrated PostgreSQL database.
- ``make_config(**overrides) -> Config``: a valid configuration on that
  database and Redis (dev login, base URL ``http://localhost:8000``).
- ``config``: ``make_config()``.
- ``app``: the application built from ``config``, lifespan running.
- ``client``: ``httpx.AsyncClient`` on ``app``, base URL ``http://localhost:8000``.
- ``factory``: the app's :class:`~rsp_gateway.factory.Factory`.
- ``token_service``: a :class:`~rsp_gateway.services.token.TokenService`.
- ``make_session(username="someone", scopes=[...], *, groups=..., ...) -> Token``
  (async): a session token made directly, as a login would.
- ``make_session_cookie(token, *, csrf=None) -> str``: the session cookie
  value holding ``token`` (cookie name: ``config.cookie_name``).
- ``redis_url``, ``redis_prefix``: the Redis server and this session's prefix.
- ``sqlite_url``: a migrated SQLite database in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import pytest
import redis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.main import create_app
from rsp_gateway.models.session import SessionState
from rsp_gateway.models.token import Token
from rsp_gateway.models.userinfo import Group, UserInfo
from rsp_gateway.services.history import TokenHistoryService
from rsp_gateway.services.token import TokenService
from rsp_gateway.storage.database import create_database_engine, migrate_database

# Fixtures kept in their own modules, imported so that pytest finds them here
# (pytest_plugins is refused in a conftest below the rootdir).
from support.fake_github import fake_github, fake_github_server  # noqa: F401

POSTGRES_ADMIN_URL = os.environ.get(
    "RSP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("RSP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BASE_URL = "http://localhost:8000"
DEFAULT_SCOPES = ["exec:notebook", "read:tap", "user:token"]


async def _migrate(url: str) -> None:
    engine = create_database_engine(url)
    try:
        await migrate_database(engine)
    finally:
        await engine.dispose()


async def _create_database(name: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_database(name: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _database_url(name: str) -> str:
    admin = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return admin.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


@pytest.fixture(scope="session")
def make_database() -> Iterator[Callable[[], str]]:
    """Create more empty PostgreSQL databases (dropped at the end of the session)."""
    names: list[str] = []

    def make() -> str:
        name = f"gw_test_{secrets.token_hex(6)}"
        asyncio.run(_create_database(name))
        names.append(name)
        return _database_url(name)

    yield make
    for name in names:
        asyncio.run(_drop_database(name))


@pytest.fixture(scope="session")
def database_url(make_database: Callable[[], str]) -> str:
    """The session's PostgreSQL database, migrated to head."""
    url = make_database()
    asyncio.run(_migrate(url))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database in a temporary directory."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite'}"
    asyncio.run(_migrate(url))
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the Redis server used by the tests."""
    return REDIS_URL


@pytest.fixture(scope="session")
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix (and channel) unique to this session; removed at the end."""
    prefix = f"gw-test-{secrets.token_hex(6)}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


async def _empty_tables(url: str) -> None:
    connection = await asyncpg.connect(url.replace("+asyncpg", "", 1))
    try:
        await connection.execute("DELETE FROM token_change_history; DELETE FROM token")
    finally:
        await connection.close()


@pytest.fixture
async def make_config(
    database_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[Callable[..., Config]]:
    """Build configurations for this test; the tables are emptied afterwards."""

    def make(**overrides: Any) -> Config:
        values: dict[str, Any] = {
            "environment": "local",
            "base_url": BASE_URL,
            "database_url": SecretStr(database_url),
            "redis_url": SecretStr(redis_url),
            "redis_prefix": redis_prefix,
            "session_secret": SecretStr("test-session-secret-" + "s" * 32),
            "token_hash_key": SecretStr("test-token-hash-key-" + "k" * 32),
            "dev_login": True,
            "log_json": False,
        }
        values.update(overrides)
        return Config(**values)

    yield make
    await _empty_tables(database_url)


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    """The default test configuration (PostgreSQL and Redis)."""
    return make_config()


@pytest.fixture
async def app(config: Config) -> AsyncIterator[FastAPI]:
    """The gateway application with its lifespan running."""
    application = create_app(config)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """An HTTP client talking to ``app`` in-process."""
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
def process_context(app: FastAPI) -> ProcessContext:
    """The running app's process-wide resources."""
    context: ProcessContext = app.state.process_context
    return context


@pytest.fixture
def factory(process_context: ProcessContext) -> Factory:
    """A factory on the running app's resources."""
    return Factory(process_context)


@pytest.fixture
def token_service(factory: Factory) -> TokenService:
    """The token service of the running app."""
    return factory.create_token_service()


@pytest.fixture
def history_service(factory: Factory) -> TokenHistoryService:
    """The token history service of the running app."""
    return factory.create_history_service()


class MakeSession(Protocol):
    """Signature of the ``make_session`` fixture."""

    def __call__(
        self,
        username: str = "someone",
        scopes: list[str] | None = None,
        *,
        groups: list[Group] | None = None,
        name: str | None = None,
        email: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        ip_address: str | None = "127.0.0.1",
    ) -> Awaitable[Token]: ...


@pytest.fixture
def make_session(token_service: TokenService) -> MakeSession:
    """Make a session token directly, as a login would (scopes: DEFAULT_SCOPES)."""

    async def make(
        username: str = "someone",
        scopes: list[str] | None = None,
        *,
        groups: list[Group] | None = None,
        name: str | None = None,
        email: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        ip_address: str | None = "127.0.0.1",
    ) -> Token:
        user = UserInfo(
            username=username,
            name=name,
            email=email,
            uid=uid,
            gid=gid,
            groups=groups or [],
        )
        wanted = DEFAULT_SCOPES if scopes is None else scopes
        return await token_service.create_session_token(
            user, wanted, ip_address=ip_address
        )

    return make


@pytest.fixture
def make_session_cookie(
    process_context: ProcessContext,
) -> Callable[..., str]:
    """The encrypted session cookie value for a token (and CSRF token, if given)."""

    def make(token: Token, *, csrf: str | None = None) -> str:
        state = SessionState(token=str(token), csrf=csrf)
        return process_context.cookie_codec.encode(state)

    return make
