"""Database set-up for the catalogs: pgsphere, tables, TAP_SCHEMA, query role.

:func:`init_database` is idempotent: run it again and it leaves loaded rows
alone, recreates only tables whose columns no longer match the schema,
refills TAP_SCHEMA and re-applies the grants. It connects as the database
owner (a superuser the first time, to create pgsphere).

The query role may connect, create temporary tables (uploads) and read the
catalog schema, its narrow projections and TAP_SCHEMA, and nothing else: it
owns nothing, cannot create in any schema, and starts its transactions
read-only by default (and plans prepared queries for their actual values).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import asyncpg

from ..models.schema import CatalogSchema, CatalogTable
from .felis import CATALOG_SCHEMA_NAME, NARROW_SCHEMA_NAME, TAP_SCHEMA_NAME
from .pgcopy import postgres_type

__all__ = [
    "DEFAULT_READER_ROLE",
    "create_table_sql",
    "init_database",
    "install_pgsphere",
    "quote",
    "tap_schema_rows",
]

DEFAULT_READER_ROLE = "tap_reader"
"""Name of the read-only role queries run as, unless told otherwise."""

_OBSOLETE_OPERATORS = re.compile(
    r"CREATE OPERATOR @ \(\s*LEFTARG\s*=\s*(?:bigint|spoint),\s*RIGHTARG\s*=\s*smoc,"
    r"[^;]*\);"
)
"""pgsphere 1.2's compatibility ``@`` operators for smoc, which PostgreSQL
releases since late 2024 refuse (their commutator is already taken); pgsphere
1.4 dropped them. Nothing here uses them."""

_ADQL_DELIMITED = frozenset({"size"})
"""Column names TAP_SCHEMA lists delimited, as TAP 1.1 does (reserved words)."""


def quote(name: str) -> str:
    """A PostgreSQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def _qualified(table: CatalogTable) -> str:
    return f"{quote(table.schema_name)}.{quote(table.name)}"


def create_table_sql(table: CatalogTable) -> str:
    """``CREATE TABLE`` of a table, columns in TAP order, names quoted."""
    columns = ",\n    ".join(
        f"{quote(c.name)} {postgres_type(c)}{'' if c.nullable else ' NOT NULL'}"
        for c in table.columns
    )
    return f"CREATE TABLE {_qualified(table)} (\n    {columns}\n)"


async def install_pgsphere(connection: asyncpg.Connection) -> None:
    """Make pgsphere available in the database (needs a superuser once).

    ``CREATE EXTENSION pg_sphere`` is tried first. The Debian package of
    pgsphere 1.2 fails on PostgreSQL releases since late 2024 because of
    two obsolete operators; then the extension's own script is run without
    them (its functions and types land in ``public``, as the extension's
    would).
    """
    if await connection.fetchval("SELECT to_regtype('public.spoint') IS NOT NULL"):
        return
    try:
        async with connection.transaction():
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_sphere")
    except asyncpg.PostgresError as error:
        if "commutator" not in str(error):
            raise
    else:
        return
    share = await connection.fetchval(
        "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'"
    )
    version = await connection.fetchval(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'pg_sphere'"
    )
    script: str = await connection.fetchval(
        "SELECT pg_read_file($1)", f"{share}/extension/pg_sphere--{version}.sql"
    )
    script = "\n".join(
        line for line in script.splitlines() if not line.startswith("\\")
    )
    script = _OBSOLETE_OPERATORS.sub(
        "", script.replace("MODULE_PATHNAME", "$libdir/pg_sphere")
    )
    async with connection.transaction():
        await connection.execute("SET LOCAL search_path = public")
        await connection.execute(script)


async def _existing_columns(
    connection: asyncpg.Connection, table: CatalogTable
) -> list[str]:
    rows = await connection.fetch(
        "SELECT attname FROM pg_attribute"
        " WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped"
        " ORDER BY attnum",
        _qualified(table),
    )
    return [r["attname"] for r in rows]


async def _create_tables(
    connection: asyncpg.Connection, tables: Sequence[CatalogTable]
) -> None:
    for table in tables:
        existing = await _existing_columns(connection, table)
        expected = [c.name for c in table.columns]
        if existing == expected:
            continue
        if existing:
            await connection.execute(f"DROP TABLE {_qualified(table)}")
        await connection.execute(create_table_sql(table))


def _size(arraysize: str | None) -> int | None:
    digits = (arraysize or "").rstrip("*")
    return int(digits) if digits.isdigit() else None


def tap_schema_rows(schema: CatalogSchema) -> dict[str, list[tuple[object, ...]]]:
    """Rows of each TAP_SCHEMA table, in the column order of its CatalogTable."""
    schemas: list[tuple[object, ...]] = [
        (name, None, description, index)
        for index, (name, description) in enumerate(schema.descriptions.items())
    ]
    tables: list[tuple[object, ...]] = [
        (t.schema_name, t.qualified_name, "table", None, t.description, t.table_index)
        for t in schema.tables
    ]
    columns: list[tuple[object, ...]] = [
        (
            t.qualified_name,
            f'"{c.name}"' if c.name in _ADQL_DELIMITED else c.name,
            c.utype,
            c.ucd,
            c.unit,
            c.description,
            c.datatype.value,
            c.arraysize,
            c.xtype,
            _size(c.arraysize),
            int(c.principal),
            int(c.indexed),
            int(c.std),
            c.column_index,
        )
        for t in schema.tables
        for c in t.columns
    ]
    keys: list[tuple[object, ...]] = [
        (k.key_id, k.from_table, k.target_table, k.utype, k.description)
        for k in schema.keys
    ]
    key_columns: list[tuple[object, ...]] = [
        (k.key_id, f, t) for k in schema.keys for f, t in k.columns
    ]
    return {
        "schemas": schemas,
        "tables": tables,
        "columns": columns,
        "keys": keys,
        "key_columns": key_columns,
    }


async def _fill_tap_schema(
    connection: asyncpg.Connection, schema: CatalogSchema
) -> None:
    rows = tap_schema_rows(schema)
    for name in reversed(list(rows)):
        table = f"{quote(TAP_SCHEMA_NAME)}.{quote(name)}"
        await connection.execute(f"DELETE FROM {table}")  # noqa: S608 (quoted names)
    for name, records in rows.items():
        await connection.copy_records_to_table(
            name, schema_name=TAP_SCHEMA_NAME, records=records
        )


async def _execute_format(
    connection: asyncpg.Connection, template: str, *names: str
) -> None:
    """Run a statement whose identifiers PostgreSQL's ``format()`` quotes."""
    placeholders = ", ".join(f"${i}::text" for i in range(2, len(names) + 2))
    statement = await connection.fetchval(
        f"SELECT format($1, {placeholders})", template, *names
    )
    await connection.execute(statement)


async def _ensure_role(
    connection: asyncpg.Connection, role: str, password: str | None
) -> None:
    exists = await connection.fetchval(
        "SELECT true FROM pg_roles WHERE rolname = $1", role
    )
    verb = "ALTER" if exists else "CREATE"
    template = (
        f"{verb} ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
        " NOREPLICATION"
    )
    if password is None:
        await _execute_format(connection, template, role)
    else:
        await _execute_format(connection, template + " PASSWORD %L", role, password)


async def _grant(connection: asyncpg.Connection, role: str, database: str) -> None:
    await _execute_format(
        connection, "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I", database, role
    )
    for setting in (
        "default_transaction_read_only = on",
        # Plan each run of a prepared query for its own values (a cone of
        # 0.01 or 10 degrees wants different plans); parsing is still saved.
        "plan_cache_mode = force_custom_plan",
    ):
        await _execute_format(
            connection, f"ALTER ROLE %I IN DATABASE %I SET {setting}", role, database
        )
    for schema_name in (CATALOG_SCHEMA_NAME, NARROW_SCHEMA_NAME, TAP_SCHEMA_NAME):
        for template in (
            "GRANT USAGE ON SCHEMA %I TO %I",
            "GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO %I",
        ):
            await _execute_format(connection, template, schema_name, role)


async def init_database(
    connection: asyncpg.Connection,
    schema: CatalogSchema,
    *,
    reader_role: str = DEFAULT_READER_ROLE,
    reader_password: str | None = None,
) -> None:
    """Create (or bring up to date) everything the catalogs need.

    Parameters
    ----------
    connection
        Connection as the database owner (superuser to install pgsphere).
    schema
        The catalog schema (``load_catalog_schema()``).
    reader_role
        Role queries run as; created if missing.
    reader_password
        Its password (none: the role authenticates otherwise, e.g. trust).
    """
    await install_pgsphere(connection)
    catalogs = [t for t in schema.tables if t.schema_name == CATALOG_SCHEMA_NAME]
    tap_tables = [t for t in schema.tables if t.schema_name == TAP_SCHEMA_NAME]
    database = await connection.fetchval("SELECT current_database()")
    async with connection.transaction():
        for name in (CATALOG_SCHEMA_NAME, NARROW_SCHEMA_NAME, TAP_SCHEMA_NAME):
            await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(name)}")
        await _create_tables(connection, catalogs)
        await _create_tables(connection, tap_tables)
        await _fill_tap_schema(connection, schema)
    await _ensure_role(connection, reader_role, reader_password)
    await _grant(connection, reader_role, database)
