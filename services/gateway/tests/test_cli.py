"""The ``rsp-gateway`` command."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from rsp_gateway.cli import main
from rsp_gateway.config import Config
from rsp_gateway.factory import Factory, ProcessContext
from rsp_gateway.models.token import Token, TokenData, TokenType
from rsp_gateway.storage.database import head_revision


def _environment(config: Config) -> dict[str, str]:
    env = {
        "RSP_GATEWAY_DATABASE_URL": config.database_url.get_secret_value(),
        "RSP_GATEWAY_SESSION_SECRET": config.session_secret.get_secret_value(),
        "RSP_GATEWAY_TOKEN_HASH_KEY": config.token_hash_key.get_secret_value(),
        "RSP_GATEWAY_REDIS_PREFIX": config.redis_prefix,
        "RSP_GATEWAY_DEV_LOGIN": "true",
        "RSP_GATEWAY_LOG_JSON": "false",
        "RSP_GATEWAY_CONFIG_PATH": "",
    }
    if config.redis_url is not None:
        env["RSP_GATEWAY_REDIS_URL"] = config.redis_url.get_secret_value()
    return env


def _invoke(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=_environment(config))
    return result.exit_code, result.stdout + result.stderr


async def _validate(config: Config, token: Token) -> TokenData | None:
    context = await ProcessContext.from_config(config)
    try:
        return await Factory(context).create_token_service().validate(token)
    finally:
        await context.aclose()


@pytest.fixture
def sqlite_config(make_config: Callable[..., Config], tmp_path: Path) -> Config:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite'}"
    return make_config(database_url=url, redis_url=None)


def test_schema_commands_on_an_empty_database(sqlite_config: Config) -> None:
    code, output = _invoke(sqlite_config, "check-schema")
    assert code == 1
    assert "rsp-gateway migrate" in output
    code, output = _invoke(sqlite_config, "init")
    assert code == 0, output
    assert f"Created the database schema ({head_revision()})" in output
    code, output = _invoke(sqlite_config, "init")
    assert code == 0
    assert "already current" in output
    code, output = _invoke(sqlite_config, "check-schema")
    assert code == 0
    assert "is current" in output
    code, output = _invoke(sqlite_config, "migrate")
    assert code == 0
    assert "already current" in output


def test_migrate_creates_an_empty_database(
    make_config: Callable[..., Config], make_database: Callable[[], str]
) -> None:
    config = make_config(database_url=make_database())
    code, output = _invoke(config, "migrate")
    assert code == 0, output
    assert f"from nothing to {head_revision()}" in output
    assert _invoke(config, "check-schema")[0] == 0


def test_init_refuses_an_unknown_revision(sqlite_config: Config) -> None:
    assert _invoke(sqlite_config, "init")[0] == 0
    path = sqlite_config.database_url.get_secret_value().split("///", 1)[1]
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'old'")
    code, output = _invoke(sqlite_config, "init")
    assert code == 1
    assert "rsp-gateway migrate" in output


def test_generate_token() -> None:
    result = CliRunner().invoke(main, ["generate-token"])
    assert result.exit_code == 0
    first = Token.from_str(result.stdout.strip())
    second = Token.from_str(CliRunner().invoke(main, ["generate-token"]).stdout.strip())
    assert first != second


def test_create_service_token(config: Config) -> None:
    result = CliRunner().invoke(
        main,
        [
            "create-service-token",
            "--username",
            "bot-ci",
            "--scope",
            "read:tap",
            "--scope",
            "exec:notebook",
            "--expires",
            "3600",
            "--name",
            "ci",
        ],
        env=_environment(config),
    )
    assert result.exit_code == 0, result.stderr
    token = Token.from_str(result.stdout.strip())  # stdout holds only the token
    data = asyncio.run(_validate(config, token))
    assert data is not None
    assert data.username == "bot-ci"
    assert data.token_type is TokenType.service
    assert data.scopes == {"read:tap", "exec:notebook"}
    assert data.token_name == "ci"
    assert data.expires is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--username", "alice", "--scope", "read:tap"], "bot-"),
        (["--username", "bot-x", "--scope", "read:nothing"], "Unknown scopes"),
        (["--username", "bot-x", "--expires", "0"], "--expires"),
    ],
)
def test_create_service_token_refusals(
    config: Config, args: list[str], message: str
) -> None:
    code, output = _invoke(config, "create-service-token", *args)
    assert code != 0
    assert message in output
    assert "Traceback" not in output


def test_maintenance(config: Config) -> None:
    code, output = _invoke(config, "maintenance")
    assert code == 0, output
    assert "Expired 0 tokens, trimmed 0 history entries" in output


def test_bad_configuration_is_a_clear_error(config: Config) -> None:
    env: dict[str, str | None] = dict(_environment(config))
    env["RSP_GATEWAY_TOKEN_HASH_KEY"] = None
    result = CliRunner().invoke(main, ["check-schema"], env=env)
    assert result.exit_code == 1
    assert "invalid gateway configuration" in result.stderr
    assert "token_hash_key" in result.stderr


def test_a_missing_configuration_file_is_named(config: Config, tmp_path: Path) -> None:
    env = _environment(config)
    env["RSP_GATEWAY_CONFIG_PATH"] = str(tmp_path / "absent.yaml")
    result = CliRunner().invoke(main, ["check-schema"], env=env)
    assert result.exit_code == 1
    assert "RSP_GATEWAY_CONFIG_PATH" in result.stderr
    assert "absent.yaml" in result.stderr
    assert "Traceback" not in result.stderr
