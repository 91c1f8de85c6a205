"""The ``rsp-gateway`` command: database schema, tokens and maintenance.

Configuration comes from the environment and ``RSP_GATEWAY_CONFIG_PATH``,
as for the server.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from .config import Config, load_config
from .exceptions import ConfigurationError, DatabaseSchemaError, GatewayError
from .factory import Factory, ProcessContext
from .log import configure_logging
from .models.token import AdminTokenRequest, Token, TokenType
from .services.token_rules import operator_auth
from .storage.database import (
    check_database_schema,
    create_database_engine,
    database_revision,
    head_revision,
    migrate_database,
)

__all__ = ["main"]

CLI_ACTOR = "<cli>"
"""Actor recorded in token history for changes made with this command."""


def _config() -> Config:
    try:
        config = load_config()
    except ConfigurationError as e:
        raise click.ClickException(str(e)) from None
    configure_logging(config, to_stderr=True)
    return config


def _run[T](action: Callable[[Config], Coroutine[Any, Any, T]]) -> T:
    config = _config()
    try:
        return asyncio.run(action(config))
    except (DatabaseSchemaError, GatewayError) as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"cannot reach the database or Redis: {e}") from None


async def _with_services[T](
    config: Config, action: Callable[[Factory], Awaitable[T]]
) -> T:
    context = await ProcessContext.from_config(config, last_used_interval=3600)
    try:
        await context.check_schema()
        await context.wait_for_redis()
        return await action(Factory(context))
    finally:
        await context.aclose()


@click.group()
def main() -> None:
    """Manage the science platform gateway: its database, tokens and upkeep."""


@main.command()
def init() -> None:
    """Create the database schema (does nothing if it is already current)."""

    async def action(config: Config) -> str:
        engine = create_database_engine(config.database_url.get_secret_value())
        try:
            current = await database_revision(engine)
            if current == head_revision():
                return f"Database schema already current ({current})"
            if current is not None:
                raise DatabaseSchemaError(
                    f"database schema is at revision {current}:"
                    " run `rsp-gateway migrate` to upgrade it"
                )
            await migrate_database(engine)
            return f"Created the database schema ({head_revision()})"
        finally:
            await engine.dispose()

    click.echo(_run(action))


@main.command()
def migrate() -> None:
    """Upgrade the database schema to this version (creating it if empty)."""

    async def action(config: Config) -> str:
        engine = create_database_engine(config.database_url.get_secret_value())
        try:
            before = await migrate_database(engine)
        finally:
            await engine.dispose()
        head = head_revision()
        if before == head:
            return f"Database schema already current ({head})"
        return f"Migrated the database schema from {before or 'nothing'} to {head}"

    click.echo(_run(action))


@main.command("check-schema")
def check_schema() -> None:
    """Exit with an error unless the database schema is current."""

    async def action(config: Config) -> None:
        engine = create_database_engine(config.database_url.get_secret_value())
        try:
            await check_database_schema(engine)
        finally:
            await engine.dispose()

    _run(action)
    click.echo(f"Database schema is current ({head_revision()})")


@main.command("generate-token")
def generate_token() -> None:
    """Print a new random token (for example a bootstrap token)."""
    click.echo(str(Token.generate()))


@main.command()
def maintenance() -> None:
    """Delete expired tokens, trim old token history, refresh GitHub sessions.

    The refresh reads the groups of every due GitHub session again (see
    ``group_refresh_interval``), as the server also does in the background.
    """

    async def work(factory: Factory) -> str:
        service = factory.create_maintenance_service()
        expired = await service.expire_tokens()
        trimmed = await service.trim_history()
        refreshed = await factory.create_group_refresh_service().refresh_due()
        return (
            f"Expired {expired} tokens, trimmed {trimmed} history entries, {refreshed}"
        )

    click.echo(_run(lambda config: _with_services(config, work)))


@main.command("create-service-token")
@click.option("--username", required=True, help="Bot user, named bot-*.")
@click.option("--scope", "scopes", multiple=True, help="A scope (repeatable).")
@click.option(
    "--expires",
    type=click.IntRange(min=1),
    default=None,
    help="Lifetime in seconds (default: never expires).",
)
@click.option("--name", default=None, help="A name for the token.")
def create_service_token(
    username: str, scopes: tuple[str, ...], expires: int | None, name: str | None
) -> None:
    """Create a service token for a bot user and print it."""
    expiry = datetime.now(UTC) + timedelta(seconds=expires) if expires else None
    try:
        request = AdminTokenRequest(
            username=username,
            token_type=TokenType.service,
            token_name=name,
            scopes=list(scopes),
            expires=expiry,
        )
    except ValueError as e:
        raise click.BadParameter(str(e)) from None

    async def work(factory: Factory) -> Token:
        service = factory.create_token_service()
        return await service.create_admin_token(
            operator_auth(CLI_ACTOR), request, ip_address=None
        )

    token = _run(lambda config: _with_services(config, work))
    click.echo(str(token))


if __name__ == "__main__":
    sys.exit(main())
