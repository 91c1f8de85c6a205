"""The database: engine, session maker, and the schema version check.

Migrations run through Alembic on a connection of our own async engine
(:func:`migrate_database`), so the same code path serves the CLI, the tests
and PostgreSQL as well as SQLite.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ..exceptions import DatabaseSchemaError

__all__ = [
    "alembic_config",
    "check_database_schema",
    "create_database_engine",
    "create_session_maker",
    "database_revision",
    "head_revision",
    "migrate_database",
]


def create_database_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """Open an async engine on PostgreSQL (asyncpg) or SQLite (aiosqlite).

    SQLite gets foreign keys enforced, WAL journaling and a busy timeout on
    every connection, so that it behaves like the production database for
    one local process.
    """
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        options.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = create_async_engine(parsed, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session maker whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> AlembicConfig:
    """Alembic configuration pointing at the migrations shipped in the package."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(files("rsp_gateway") / "alembic"))
    return config


def head_revision() -> str:
    """The schema revision this code needs."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise DatabaseSchemaError(f"migrations have {len(heads)} heads, expected one")
    return heads[0]


async def database_revision(engine: AsyncEngine) -> str | None:
    """The schema revision the database is at, `None` if never migrated."""

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(current)


async def check_database_schema(engine: AsyncEngine) -> None:
    """Refuse to run on a database whose schema is not this code's.

    Raises
    ------
    DatabaseSchemaError
        If the database is empty or at another revision.
    """
    try:
        current = await database_revision(engine)
    except OSError as e:
        raise DatabaseSchemaError(f"cannot reach the database: {e}") from e
    head = head_revision()
    if current != head:
        at = f"at revision {current}" if current else "not initialised"
        raise DatabaseSchemaError(
            f"database schema is {at}, this gateway needs revision {head}:"
            " run `rsp-gateway migrate` (or `rsp-gateway init` for a new database)"
        )


async def migrate_database(engine: AsyncEngine, revision: str = "head") -> str | None:
    """Upgrade the schema to ``revision`` (creating it on an empty database).

    Returns the revision the database was at before, `None` if empty.
    """
    before = await database_revision(engine)
    config = alembic_config()

    def upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
    return before
