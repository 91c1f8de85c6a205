"""The job store's database: engine, session maker, migrations, version check.

Migrations run through Alembic on a connection of our own async engine, so
the same code path serves the CLI and the tests.
"""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ..exceptions import DatabaseSchemaError
from ..schema import JOB_SCHEMA

__all__ = [
    "check_job_store",
    "create_database_engine",
    "create_session_maker",
    "head_revision",
    "job_store_revision",
    "migrate_job_store",
]


def create_database_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """Open an async engine on the job store (PostgreSQL through asyncpg)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return create_async_engine(
        parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def create_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session maker whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(files("rsp_tap") / "alembic"))
    return config


def head_revision() -> str:
    """The job store revision this code needs."""
    heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
    if len(heads) != 1:
        raise DatabaseSchemaError(f"migrations have {len(heads)} heads, expected one")
    return heads[0]


async def job_store_revision(engine: AsyncEngine) -> str | None:
    """The revision the job store is at, `None` if never created."""

    def current(connection: Connection) -> str | None:
        context = MigrationContext.configure(
            connection, opts={"version_table_schema": JOB_SCHEMA}
        )
        return context.get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(current)


async def check_job_store(engine: AsyncEngine) -> None:
    """Refuse to run on a job store whose schema is not this code's.

    Raises
    ------
    DatabaseSchemaError
        If the job store is missing, at another revision, or unreachable.
    """
    try:
        current = await job_store_revision(engine)
    except OSError as e:
        raise DatabaseSchemaError(f"cannot reach the job store database: {e}") from e
    head = head_revision()
    if current != head:
        at = f"at revision {current}" if current else "not initialised"
        raise DatabaseSchemaError(
            f"the job store is {at}, this service needs revision {head}:"
            " run `rsp-tap migrate`"
        )


async def migrate_job_store(engine: AsyncEngine) -> str | None:
    """Create or upgrade the job store; the revision it was at before."""
    before = await job_store_revision(engine)
    config = _alembic_config()

    def upgrade(connection: Connection) -> None:
        # The version table lives in the schema, which must exist first.
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {JOB_SCHEMA}"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
    return before
