"""The hub's database URL and SQLite settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from rsp_notebooks.database import enable_sqlite_wal, sqlalchemy_url
from sqlalchemy import create_engine, text


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgresql://hub:pw@db:5432/jupyterhub",
            "postgresql+psycopg://hub:pw@db:5432/jupyterhub",
        ),
        ("postgres://hub@db/jupyterhub", "postgresql+psycopg://hub@db/jupyterhub"),
        ("postgresql+psycopg://hub@db/hub", "postgresql+psycopg://hub@db/hub"),
        ("sqlite:///jupyterhub.sqlite", "sqlite:///jupyterhub.sqlite"),
    ],
)
def test_postgresql_urls_name_psycopg(given: str, expected: str) -> None:
    assert sqlalchemy_url(given) == expected


def test_the_hub_can_reach_postgresql() -> None:
    engine = create_engine(
        sqlalchemy_url("postgresql://postgres@127.0.0.1:5432/postgres")
    )
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_is_switched_to_wal_without_fsync_per_commit(tmp_path: Path) -> None:
    enable_sqlite_wal()
    enable_sqlite_wal()  # idempotent: one listener
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    try:
        with engine.connect() as connection:
            mode = connection.execute(text("PRAGMA journal_mode")).scalar()
            synchronous = connection.execute(text("PRAGMA synchronous")).scalar()
    finally:
        engine.dispose()
    assert mode == "wal"
    assert synchronous == 1  # NORMAL
