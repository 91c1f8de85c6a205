"""Alembic environment of the gateway.

Migrations normally run on a connection that the caller opened from its
own async engine (``config.attributes["connection"]``, see
:func:`rsp_gateway.storage.database.migrate_database`). Run standalone
(``alembic -x url=...`` or ``RSP_GATEWAY_DATABASE_URL``), it opens an
async engine itself. SQLite migrations use batch mode.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from rsp_gateway.schema import Base
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "RSP_GATEWAY_DATABASE_URL"
    )
    if not url:
        raise RuntimeError(
            "no database: pass -x url=... or set RSP_GATEWAY_DATABASE_URL"
        )
    asyncio.run(_run_with_own_engine(url))


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
_run_online()
