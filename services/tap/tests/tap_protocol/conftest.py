"""Fixtures of the protocol tests: the app on a fake backend and a real job store.

Each test session gets its own PostgreSQL database for the job store
(``tap_test_<random>``, migrated, dropped at the end); the job tables are
emptied after every test that used the app.

- ``job_database_url``: the migrated job store database.
- ``make_config(**overrides) -> Config``: a valid configuration on it, results
  in a temporary directory, base URL ``http://localhost:8000``.
- ``backend``: the :class:`FakeBackend` the app runs queries on.
- ``app``: the application (lifespan running) on ``make_config()``.
- ``client``: ``httpx.AsyncClient`` on the app as user ``alice``
  (``X-Auth-Request-User``); ``other_client`` as ``bob``; ``anonymous_client``
  with no user.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from rsp_tap.config import Config, LocalResultStorage
from rsp_tap.data.felis import load_catalog_schema
from rsp_tap.main import create_app
from rsp_tap.models.schema import CatalogSchema
from rsp_tap.storage.database import create_database_engine, migrate_job_store

from .fake_backend import FakeBackend
from .live import live_tap  # noqa: F401 (a fixture, found here by pytest)

POSTGRES_ADMIN_URL = os.environ.get(
    "RSP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BASE_URL = "http://localhost:8000"
TAP = f"{BASE_URL}/api/tap"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _migrate(url: str) -> None:
    engine = create_database_engine(url)
    try:
        await migrate_job_store(engine)
    finally:
        await engine.dispose()


def _database_url(name: str) -> str:
    admin = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return admin.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


@pytest.fixture(scope="session")
def make_job_database() -> Iterator[Callable[[], str]]:
    """Create empty PostgreSQL databases (dropped at the end of the session)."""
    names: list[str] = []

    def make() -> str:
        name = f"tap_test_{secrets.token_hex(6)}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return _database_url(name)

    yield make
    for name in names:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def job_database_url(make_job_database: Callable[[], str]) -> str:
    """The session's job store database, migrated."""
    url = make_job_database()
    asyncio.run(_migrate(url))
    return url


@pytest.fixture(scope="session")
def catalog_schema() -> CatalogSchema:
    """The DP0.1 catalogs and TAP_SCHEMA as the service loads them."""
    return load_catalog_schema()


@pytest.fixture
def make_config(job_database_url: str, tmp_path: Path) -> Callable[..., Config]:
    """Build a configuration on the session's job store."""

    def make(**overrides: Any) -> Config:
        values: dict[str, Any] = {
            "environment": "local",
            "base_url": BASE_URL,
            "database_url": job_database_url,
            "query_database_url": "postgresql://nobody@127.0.0.1:1/none",
            "result_storage": LocalResultStorage(path=tmp_path / "results"),
            "log_json": True,
            "log_level": "WARNING",
            "cleanup_interval": 3600,
        }
        values.update(overrides)
        return Config(**values)

    return make


@pytest.fixture
def backend() -> FakeBackend:
    """The fake query backend of the app."""
    return FakeBackend()


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    """The default test configuration."""
    return make_config()


async def empty_job_store(url: str) -> None:
    """Delete every job of the job store (what a test made)."""
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.execute("TRUNCATE tap_uws.job CASCADE")
    finally:
        await connection.close()


@pytest.fixture
async def app(
    config: Config,
    backend: FakeBackend,
    catalog_schema: CatalogSchema,
    job_database_url: str,
) -> AsyncIterator[FastAPI]:
    """The application with its lifespan running; job tables emptied after."""
    application = create_app(config, schema=catalog_schema, backend=backend)
    async with LifespanManager(application):
        yield application
    await empty_job_store(job_database_url)


def _client(app: FastAPI, user: str | None) -> AsyncClient:
    headers = {"X-Auth-Request-User": user} if user else {}
    return AsyncClient(
        transport=ASGITransport(app=app), base_url=BASE_URL, headers=headers
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """A client of the app as user ``alice``."""
    async with _client(app, "alice") as c:
        yield c


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """A client of the app as user ``bob``."""
    async with _client(app, "bob") as c:
        yield c


@pytest.fixture
async def anonymous_client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """A client of the app with no user (as an anonymous route sees it)."""
    async with _client(app, None) as c:
        yield c
