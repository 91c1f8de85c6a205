"""The schema, its Alembic migrations and the refusal to run on an old schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from asgi_lifespan import LifespanManager
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.exceptions import DatabaseSchemaError
from rsp_gateway.main import create_app
from rsp_gateway.schema import Base, TokenChangeHistoryRecord, TokenRecord
from rsp_gateway.storage.database import (
    alembic_config,
    check_database_schema,
    create_database_engine,
    create_session_maker,
    database_revision,
    head_revision,
    migrate_database,
)
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _downgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_url(
    request: pytest.FixtureRequest, make_database: Callable[[], str], tmp_path: Path
) -> str:
    if request.param == "postgresql":
        return make_database()
    return f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite'}"


async def test_migrate_empty_database_matches_models(empty_url: str) -> None:
    engine = create_database_engine(empty_url)
    try:
        with pytest.raises(DatabaseSchemaError, match="rsp-gateway migrate"):
            await check_database_schema(engine)
        assert await migrate_database(engine) is None
        assert await database_revision(engine) == head_revision()
        await check_database_schema(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
        # Migrating again is a no-op; downgrading removes everything.
        assert await migrate_database(engine) == head_revision()
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade)
        assert await database_revision(engine) is None
        with pytest.raises(DatabaseSchemaError, match="not initialised"):
            await check_database_schema(engine)
    finally:
        await engine.dispose()


async def test_unknown_revision_is_refused(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite'}")
    try:
        await migrate_database(engine)
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num='zzz'")
            )
        with pytest.raises(DatabaseSchemaError, match="at revision zzz"):
            await check_database_schema(engine)
    finally:
        await engine.dispose()


async def test_app_refuses_to_start_on_old_schema(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite'}"
    config = make_config(database_url=SecretStr(url), redis_url=None)
    app = create_app(config)
    with pytest.raises(DatabaseSchemaError, match="run `rsp-gateway migrate`"):
        async with LifespanManager(app):
            pass


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_times_are_aware_utc_and_parent_cascades(
    backend: str, database_url: str, sqlite_url: str, config: Config
) -> None:
    engine = create_database_engine(
        database_url if backend == "postgresql" else sqlite_url
    )
    sessions = create_session_maker(engine)
    created = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    local = created.astimezone(ZoneInfo("Europe/Paris"))
    try:
        async with sessions.begin() as session:
            for key, parent in (("p" * 22, None), ("c" * 22, "p" * 22)):
                session.add(
                    TokenRecord(
                        key=key,
                        secret_hash="0" * 64,
                        username="alice",
                        token_type="session",
                        scopes=["read:tap"],
                        created=local,
                        expires=created + timedelta(days=1),
                        parent=parent,
                        groups=[{"name": "g", "id": 5}],
                    )
                )
            session.add(
                TokenChangeHistoryRecord(
                    token="p" * 22,
                    username="alice",
                    token_type="session",
                    scopes=[],
                    action="create",
                    ip_address="192.0.2.7",
                    event_time=created,
                )
            )
        async with sessions() as session:
            record = await session.get(TokenRecord, "c" * 22)
            assert record is not None
            assert record.created == created
            assert record.created.tzinfo is not None
            assert record.groups == [{"name": "g", "id": 5}]
            history = (
                await session.execute(select(TokenChangeHistoryRecord))
            ).scalar_one()
            assert history.ip_address == "192.0.2.7"
            assert history.event_time == created
        async with sessions.begin() as session:
            await session.execute(
                text("DELETE FROM token WHERE key = :k"), {"k": "p" * 22}
            )
        async with sessions() as session:
            assert await session.get(TokenRecord, "c" * 22) is None
        # Names are unique per user.
        twins = [
            TokenRecord(
                key=key,
                secret_hash="0" * 64,
                username="alice",
                token_type="user",
                token_name="same",
                scopes=[],
                created=created,
            )
            for key in ("a" * 22, "b" * 22)
        ]
        async with sessions() as session:
            session.add_all(twins)
            with pytest.raises(IntegrityError):
                await session.commit()
    finally:
        await engine.dispose()
