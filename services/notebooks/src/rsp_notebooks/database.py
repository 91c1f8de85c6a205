"""The hub's database: which driver a URL means, and SQLite made fit to serve.

JupyterHub keeps its users, servers, cookies and tokens in one SQLAlchemy
database and uses it synchronously on its only event loop: a slow commit
stalls every request of the hub while it runs.

- PostgreSQL (production) goes through ``psycopg`` (version 3, with its own
  libpq in the hub image); a ``postgresql://`` or ``postgres://`` URL is read
  as ``postgresql+psycopg://``, which SQLAlchemy would otherwise give to
  ``psycopg2``, not installed.
- SQLite (``make dev``, a small hub on its volume) is switched to
  write-ahead logging with ``synchronous=NORMAL``: a commit appends to the
  log without waiting for the disk, instead of the rollback journal's
  several ``fsync`` calls per commit (tens of milliseconds on a busy disk,
  all of it on the event loop). The database stays consistent after a
  crash; at worst the last commits before a power loss are lost (activity
  times, a new cookie id: the user logs in again through the gateway).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = ["SQLITE_PRAGMAS", "enable_sqlite_wal", "sqlalchemy_url"]

SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")
"""Statements run on every new SQLite connection of the hub."""

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def sqlalchemy_url(db_url: str) -> str:
    """The SQLAlchemy URL for ``db_url``, naming psycopg 3 for PostgreSQL."""
    for scheme in _POSTGRES_SCHEMES:
        if db_url.startswith(scheme):
            return "postgresql+psycopg://" + db_url.removeprefix(scheme)
    return db_url


def _tune_sqlite(dbapi_connection: Any, connection_record: Any) -> None:  # noqa: ARG001 (SQLAlchemy's signature)
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        for statement in SQLITE_PRAGMAS:
            cursor.execute(statement)
    finally:
        cursor.close()


def enable_sqlite_wal() -> None:
    """Make every SQLite connection of this process use WAL (idempotent)."""
    if not event.contains(Engine, "connect", _tune_sqlite):
        event.listen(Engine, "connect", _tune_sqlite)
