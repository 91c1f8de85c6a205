"""``rsp-tap`` commands of the service itself: the job store's schema.

Configuration comes from the environment and ``RSP_TAP_CONFIG_PATH``, as for
the server (only ``database_url`` is used).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from .config import load_config
from .exceptions import ConfigurationError, DatabaseSchemaError
from .storage.database import (
    check_job_store,
    create_database_engine,
    head_revision,
    migrate_job_store,
)

__all__ = ["check_job_store_command", "migrate_command"]


def _run[T](action: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    try:
        config = load_config()
    except ConfigurationError as e:
        raise click.ClickException(str(e)) from None

    async def run() -> T:
        engine = create_database_engine(config.database_url.get_secret_value())
        try:
            return await action(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DatabaseSchemaError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"cannot reach the job store: {e}") from None


@click.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the job store (schema tap_uws) to this version."""
    before = _run(migrate_job_store)
    head = head_revision()
    if before == head:
        click.echo(f"Job store already current ({head})")
    else:
        click.echo(f"Job store migrated from {before or 'nothing'} to {head}")


@click.command("check-job-store")
def check_job_store_command() -> None:
    """Exit with an error unless the job store is at this version."""
    _run(check_job_store)
    click.echo(f"Job store is current ({head_revision()})")
