"""Fixtures of the TAP tests: a catalog database with a small loaded sample.

``catalog_database`` is made once per test session: a PostgreSQL database
of its own (``tap_test_<id>``) with pgsphere, ``init-db`` done (its own
read-only role ``tap_reader_<id>``, since roles are shared by the whole
server) and ``CATALOG_SCALE`` objects loaded with ``CATALOG_SEED``; both are
dropped at the end. Tests that only need the schema use ``catalog_schema``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from rsp_tap.data.felis import load_catalog_schema
from rsp_tap.data.load import LoadReport, load_catalogs
from rsp_tap.data.setup import init_database
from rsp_tap.models.schema import CatalogSchema
from rsp_tap.storage.backend import PostgresBackend
from tap_catalog_db import CatalogDatabase

CATALOG_SCALE = 5000
"""Objects in the test catalog."""

CATALOG_SEED = 42

_SERVER = os.environ.get(
    "RSP_TAP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432"
)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(f"{_SERVER}/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _create(name: str, role: str) -> LoadReport:
    await _admin(f'CREATE DATABASE "{name}"')
    owner = await asyncpg.connect(f"{_SERVER}/{name}")
    try:
        await init_database(owner, load_catalog_schema(), reader_role=role)
    finally:
        await owner.close()
    return await load_catalogs(
        f"{_SERVER}/{name}", scale=CATALOG_SCALE, seed=CATALOG_SEED
    )


async def _drop(name: str, role: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="session")
def catalog_schema() -> CatalogSchema:
    """The real DP0.1 schema plus TAP_SCHEMA."""
    return load_catalog_schema()


@pytest.fixture(scope="session")
def catalog_database() -> Iterator[CatalogDatabase]:
    """A database with pgsphere, init-db done and a small catalog loaded."""
    run = uuid.uuid4().hex[:12]
    name, role = f"tap_test_{run}", f"tap_reader_{run}"
    try:
        report = asyncio.run(_create(name, role))
        user = _SERVER.split("://", 1)[1].split("@", 1)[-1]
        yield CatalogDatabase(
            name=name,
            owner_dsn=f"{_SERVER}/{name}",
            reader_dsn=f"postgresql://{role}@{user}/{name}",
            reader_role=role,
            scale=CATALOG_SCALE,
            seed=CATALOG_SEED,
            report=report,
        )
    finally:
        asyncio.run(_drop(name, role))


@pytest.fixture
async def backend(catalog_database: CatalogDatabase) -> AsyncIterator[PostgresBackend]:
    """The PostgreSQL backend on the test catalog, as the read-only role."""
    backend = PostgresBackend(catalog_database.reader_dsn, pool_size=3)
    yield backend
    await backend.aclose()


@pytest.fixture
async def owner(catalog_database: CatalogDatabase) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test catalog as its owner."""
    connection = await asyncpg.connect(catalog_database.owner_dsn)
    yield connection
    await connection.close()


@pytest.fixture
async def reader(
    catalog_database: CatalogDatabase,
) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test catalog as the read-only query role."""
    connection = await asyncpg.connect(catalog_database.reader_dsn)
    yield connection
    await connection.close()
