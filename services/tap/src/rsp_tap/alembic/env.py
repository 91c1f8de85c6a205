"""Alembic environment of the TAP job store.

Migrations run on a connection that the caller opened from its own async
engine (``config.attributes["connection"]``, see
:func:`rsp_tap.storage.database.migrate_job_store`). The version table lives
in the job store's own schema, next to the tables it versions.
"""

from __future__ import annotations

from alembic import context
from rsp_tap.schema import JOB_SCHEMA, Base
from sqlalchemy import Connection

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=JOB_SCHEMA,
        include_schemas=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `rsp-tap init-db` or `rsp-tap migrate`")
    _run(connection)


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
_run_online()
