"""The ``rsp-tap`` command: set up and load the catalog database."""

from __future__ import annotations

import asyncio

import asyncpg
import click
from tqdm import tqdm

from .data.felis import CATALOG_SCHEMA_NAME, load_catalog_schema
from .data.generate import TABLE_CODES
from .data.load import LoadReport, TableLoad, load_catalogs
from .data.narrow import NARROW_COLUMNS, build_narrow_table
from .data.setup import DEFAULT_READER_ROLE, init_database
from .data.sky import DEFAULT_SEED
from .jobs_cli import check_job_store_command, migrate_command

__all__ = ["main"]

_DATABASE_URL = click.option(
    "--database-url",
    envvar="RSP_TAP_ADMIN_DATABASE_URL",
    required=True,
    help=(
        "PostgreSQL URL as the catalogs' owner (a superuser the first time, to"
        " install pgsphere); env RSP_TAP_ADMIN_DATABASE_URL."
    ),
)


def _asyncpg_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs too (``postgresql+asyncpg://``)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


@click.group()
def main() -> None:
    """Set up and load the TAP service's catalog database."""


@main.command("init-db")
@_DATABASE_URL
@click.option(
    "--reader-role",
    default=DEFAULT_READER_ROLE,
    show_default=True,
    help="Read-only role queries run as (created if missing).",
)
@click.option(
    "--reader-password",
    envvar="RSP_TAP_READER_PASSWORD",
    default=None,
    help="Password of the read-only role; env RSP_TAP_READER_PASSWORD.",
)
def init_db(
    *, database_url: str, reader_role: str, reader_password: str | None
) -> None:
    """Create pgsphere, the catalog tables, TAP_SCHEMA and the query role."""

    async def run() -> None:
        connection = await asyncpg.connect(_asyncpg_url(database_url))
        try:
            await init_database(
                connection,
                load_catalog_schema(),
                reader_role=reader_role,
                reader_password=reader_password,
            )
        finally:
            await connection.close()

    asyncio.run(run())
    click.echo(f"Catalog database ready; queries run as {reader_role}")


def _print_report(report: LoadReport) -> None:
    click.echo(
        f"Loaded scale {report.scale} (seed {report.seed}) in {report.seconds:.1f} s"
    )
    for t in report.tables:
        _print_table(t)


def _print_table(t: TableLoad) -> None:
    click.echo(
        f"  {t.table:18s} {t.rows:>12,d} rows"
        f"  copy {t.copy_seconds:7.1f} s  indexes {t.index_seconds:6.1f} s"
        f"  cluster {t.cluster_seconds:6.1f} s  analyze {t.analyze_seconds:5.1f} s"
    )


@main.command("load")
@_DATABASE_URL
@click.option(
    "--scale", type=click.IntRange(min=0), required=True, help="Number of objects."
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option(
    "--tables",
    default=",".join(TABLE_CODES),
    show_default=True,
    help="Comma-separated tables to load.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes generating rows (1: a thread next to the COPY).",
)
@click.option("--no-cluster", is_flag=True, help="Skip CLUSTER of object.")
@click.option(
    "--no-narrow",
    is_flag=True,
    help="Skip the narrow projection of object (queries then read the table).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def load(
    *,
    database_url: str,
    scale: int,
    seed: int,
    tables: str,
    jobs: int,
    no_cluster: bool,
    no_narrow: bool,
    quiet: bool,
) -> None:
    """Generate SCALE objects (and their rows in every table) and load them."""
    names = [t.strip() for t in tables.split(",") if t.strip()]
    unknown = sorted(set(names) - set(TABLE_CODES))
    if unknown:
        raise click.BadParameter(
            f"unknown tables {', '.join(unknown)}", param_hint="--tables"
        )
    with tqdm(
        total=scale * len(names),
        unit="obj",
        unit_scale=True,
        disable=quiet,
        smoothing=0.05,
    ) as bar:

        def progress(table: str, objects: int) -> None:
            bar.set_postfix_str(table, refresh=False)
            bar.update(objects)

        report = asyncio.run(
            load_catalogs(
                _asyncpg_url(database_url),
                scale=scale,
                seed=seed,
                tables=names,
                jobs=jobs,
                cluster=not no_cluster,
                narrow=not no_narrow,
                progress=progress,
            )
        )
    _print_report(report)


@main.command("build-narrow")
@_DATABASE_URL
def build_narrow(*, database_url: str) -> None:
    """(Re)build the narrow projection of the loaded object table.

    The projection replaces the old one in a short transaction at the end: a
    running service keeps answering meanwhile. A service started while there
    was none reads the table until it is restarted.
    """

    async def run() -> list[TableLoad]:
        schema = load_catalog_schema()
        connection = await asyncpg.connect(_asyncpg_url(database_url))
        builds = []
        try:
            await connection.execute("SET maintenance_work_mem = '1GB'")
            for table in schema.tables:
                if table.schema_name != CATALOG_SCHEMA_NAME:
                    continue
                if table.name not in NARROW_COLUMNS:
                    continue
                build = await build_narrow_table(connection, table)
                builds.append(build)
        finally:
            await connection.close()
        return builds

    builds = asyncio.run(run())
    click.echo(f"Built {len(builds)} narrow projection(s)")
    for build in builds:
        _print_table(build)


# The service's own job store (owned by the protocol layer).
main.add_command(migrate_command)
main.add_command(check_job_store_command)
