"""Which narrow projections of the catalog tables the database offers.

Read from ``pg_catalog`` as the query role, once, when the backend first
connects: a table of ``dp01_dc2_catalogs_narrow`` counts as the projection
of the catalog table of the same name if the role may read it, and only
its columns that the catalog table has, with the same PostgreSQL type as
there, may be read from it (so results and their types are the same either
way). A database without projections (loaded before they existed, or with
``rsp-tap load --no-narrow``) has none: every query reads the tables.
"""

from __future__ import annotations

import asyncpg

from ..data.felis import CATALOG_SCHEMA_NAME, NARROW_SCHEMA_NAME
from ..models.narrow import NarrowTable, NarrowTables
from ..models.schema import CatalogSchema

__all__ = ["read_narrow_tables"]

_COLUMNS = """
SELECT ns.nspname AS schema_name, c.relname AS table_name, a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS column_type
FROM pg_class c
JOIN pg_namespace ns ON ns.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE ns.nspname = ANY($1::text[]) AND c.relkind = 'r'
  AND has_schema_privilege(ns.oid, 'USAGE')
  AND has_table_privilege(c.oid, 'SELECT')
"""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def read_narrow_tables(
    connection: asyncpg.Connection, schema: CatalogSchema
) -> NarrowTables:
    """The projections the connection's role can read, checked against the tables.

    Parameters
    ----------
    connection
        A connection as the query role.
    schema
        The catalog schema: only its tables' columns, as it spells them,
        can be read from a projection.
    """
    rows = await connection.fetch(_COLUMNS, [CATALOG_SCHEMA_NAME, NARROW_SCHEMA_NAME])
    types: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        key = (row["schema_name"], row["table_name"])
        types.setdefault(key, {})[row["column_name"]] = row["column_type"]
    found = []
    for table in schema.tables:
        if table.schema_name != CATALOG_SCHEMA_NAME:
            continue
        wide = types.get((CATALOG_SCHEMA_NAME, table.name))
        narrow = types.get((NARROW_SCHEMA_NAME, table.name))
        if not wide or not narrow:
            continue
        columns = frozenset(
            c.name
            for c in table.columns
            if c.name in narrow and narrow[c.name] == wide.get(c.name)
        )
        if columns:
            found.append(
                NarrowTable(
                    schema_name=table.schema_name,
                    table_name=table.name,
                    sql=f"{_quote(NARROW_SCHEMA_NAME)}.{_quote(table.name)}",
                    columns=columns,
                )
            )
    return NarrowTables(tuple(found))
