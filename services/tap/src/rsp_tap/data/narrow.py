"""Narrow projections: copies of a catalog table with its most-queried columns.

A cone over ``object`` selecting a dozen columns made PostgreSQL read 1 kB
rows of 137 columns and dig the magnitudes and flags out of them. The
projection ``dp01_dc2_catalogs_narrow.object`` holds only the columns of
:data:`NARROW_COLUMNS` (about 130 bytes of data a row), in the same
physical order as ``object`` (which the loader clusters on its spatial
index), with the same primary key, join-key index and spatial GiST index,
marked as clustered on that index. The ADQL translator reads a reference
to ``object`` from it whenever every column the query uses of that table
instance is there (:mod:`rsp_tap.storage.narrow` tells it which projections
exist); TAP_SCHEMA does not list the projection and ADQL cannot name it.

A projection is built in a schema of its own
(``dp01_dc2_catalogs_narrow_build``), frozen and analysed there, then moved
into ``dp01_dc2_catalogs_narrow`` in a short transaction that drops the old
one: a running service keeps answering while it is rebuilt. It is readable
by every role that may read the table it copies.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import asyncpg

from ..models.schema import CatalogTable
from .felis import CATALOG_SCHEMA_NAME, NARROW_SCHEMA_NAME
from .indexes import IndexSpec, index_specs
from .setup import quote
from .timing import TableLoad

__all__ = [
    "NARROW_BUILD_SCHEMA_NAME",
    "NARROW_COLUMNS",
    "NARROW_SCHEMA_NAME",
    "build_narrow_table",
    "drop_narrow_table",
    "narrow_table",
]

NARROW_BUILD_SCHEMA_NAME = "dp01_dc2_catalogs_narrow_build"
"""Where a projection is built before it replaces the old one."""

NARROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "object": (
        "objectId",
        "parentObjectId",
        "ra",
        "dec",
        "extendedness",
        "mag_g",
        "mag_i",
        "mag_r",
        "mag_u",
        "mag_y",
        "mag_z",
        "magerr_g",
        "magerr_i",
        "magerr_r",
        "magerr_u",
        "magerr_y",
        "magerr_z",
        "good",
        "clean",
    ),
}
"""Columns of each table's narrow projection, by catalog table.

For ``object``: what cone searches and colour-magnitude selections ask
for (the benchmark's twelve columns are a subset): the id and the
deblending parent (the join keys: ``truth_match.match_objectId``,
``position.objectId`` and parent-child joins refer to them), the position
the spatial index is built on (``ra``, ``dec``), the PSF magnitudes and
their errors in all six bands, the star/galaxy separation and the two
quality flags. Sixteen 8-byte values and two booleans: 130 bytes a row
against about 1 kB for the 137 columns of the table. Anything else (fluxes,
shapes, cModel and per-band flags) is read from the full table.
"""


def narrow_table(
    table: CatalogTable, schema_name: str = NARROW_SCHEMA_NAME
) -> CatalogTable:
    """The projection of a catalog table (its columns, types and TAP order)."""
    wanted = NARROW_COLUMNS[table.name]
    columns = tuple(c for c in table.columns if c.name in wanted)
    missing = set(wanted) - {c.name for c in columns}
    if missing:
        raise ValueError(f"{table.name} has no columns {', '.join(sorted(missing))}")
    return dataclasses.replace(table, schema_name=schema_name, columns=columns)


def _indexes(table: CatalogTable) -> list[IndexSpec]:
    """The loader's indexes of the table that the projection's columns allow."""
    names = {c.name for c in table.columns}
    return [s for s in index_specs(table) if set(s.columns) <= names]


async def _readers(connection: asyncpg.Connection, table: str) -> list[str]:
    """Roles (other than the owner) that may read a catalog table."""
    rows = await connection.fetch(
        "SELECT DISTINCT r.rolname AS role"
        " FROM pg_class c, aclexplode(c.relacl) a, pg_roles r"
        " WHERE c.oid = to_regclass($1) AND a.privilege_type = 'SELECT'"
        " AND a.grantee = r.oid AND a.grantee <> c.relowner",
        f"{quote(CATALOG_SCHEMA_NAME)}.{quote(table)}",
    )
    return sorted(r["role"] for r in rows)


async def _is_clustered(connection: asyncpg.Connection, table: str) -> bool:
    clustered: bool = await connection.fetchval(
        "SELECT coalesce(bool_or(indisclustered), false) FROM pg_index"
        " WHERE indrelid = to_regclass($1)",
        f"{quote(CATALOG_SCHEMA_NAME)}.{quote(table)}",
    )
    return clustered


async def build_narrow_table(
    connection: asyncpg.Connection,
    table: CatalogTable,
    *,
    cluster: bool = True,
    progress: Callable[[str, int], None] | None = None,
) -> TableLoad:
    """Build (or rebuild) the narrow projection of a loaded catalog table.

    Parameters
    ----------
    connection
        Connection as the catalogs' owner.
    table
        The catalog table (a key of :data:`NARROW_COLUMNS`), already loaded.
    cluster
        Cluster the projection on its spatial index if the table itself is
        not clustered (a clustered table's order is copied as it is).
    progress
        Told ``("narrow <table>", 0)`` when the build starts.
    """
    label = f"narrow {table.name}"
    if progress is not None:
        progress(label, 0)
    build = TableLoad(table=label)
    staging = narrow_table(table, NARROW_BUILD_SCHEMA_NAME)
    source = f"{quote(CATALOG_SCHEMA_NAME)}.{quote(table.name)}"
    built = f"{quote(NARROW_BUILD_SCHEMA_NAME)}.{quote(table.name)}"
    final = f"{quote(NARROW_SCHEMA_NAME)}.{quote(table.name)}"
    columns = ", ".join(quote(c.name) for c in staging.columns)

    start = time.perf_counter()
    await connection.execute(
        f"DROP SCHEMA IF EXISTS {quote(NARROW_BUILD_SCHEMA_NAME)} CASCADE"
    )
    await connection.execute(f"CREATE SCHEMA {quote(NARROW_BUILD_SCHEMA_NAME)}")
    async with connection.transaction():
        # One plain sequential scan from the first page, written page after
        # page (CREATE TABLE AS skips the free space map, which would put a
        # short row into an earlier page's gap): the copy keeps the table's
        # physical order. A parallel or synchronised scan would not.
        await connection.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        await connection.execute("SET LOCAL synchronize_seqscans = off")
        status = await connection.execute(
            f"CREATE TABLE {built} AS SELECT {columns} FROM {source}"  # noqa: S608
        )
        required = [c.name for c in staging.columns if not c.nullable]
        if required:
            clauses = ", ".join(f"ALTER {quote(c)} SET NOT NULL" for c in required)
            await connection.execute(f"ALTER TABLE {built} {clauses}")
    build.rows = int(status.rsplit(" ", 1)[-1])
    build.copy_seconds = time.perf_counter() - start

    indexes = _indexes(staging)
    spatial = next((s.name for s in indexes if s.spatial), None)
    start = time.perf_counter()
    for spec in indexes:
        await connection.execute(spec.sql)
    build.index_seconds = time.perf_counter() - start

    start = time.perf_counter()
    if spatial is not None:
        if cluster and not await _is_clustered(connection, table.name):
            await connection.execute(f"CLUSTER {built} USING {quote(spatial)}")
        else:
            await connection.execute(f"ALTER TABLE {built} CLUSTER ON {quote(spatial)}")
    build.cluster_seconds = time.perf_counter() - start

    start = time.perf_counter()
    # Frozen with hint bits set, as COPY FREEZE leaves the loaded tables.
    await connection.execute(f"VACUUM (FREEZE, ANALYZE) {built}")
    build.analyze_seconds = time.perf_counter() - start

    readers = await _readers(connection, table.name)
    async with connection.transaction():
        await connection.execute(
            f"CREATE SCHEMA IF NOT EXISTS {quote(NARROW_SCHEMA_NAME)}"
        )
        await connection.execute(f"DROP TABLE IF EXISTS {final}")
        await connection.execute(
            f"ALTER TABLE {built} SET SCHEMA {quote(NARROW_SCHEMA_NAME)}"
        )
        for role in readers:
            await connection.execute(
                f"GRANT USAGE ON SCHEMA {quote(NARROW_SCHEMA_NAME)} TO {quote(role)}"
            )
            await connection.execute(f"GRANT SELECT ON {final} TO {quote(role)}")
    await connection.execute(f"DROP SCHEMA {quote(NARROW_BUILD_SCHEMA_NAME)}")
    return build


async def drop_narrow_table(connection: asyncpg.Connection, table: str) -> None:
    """Drop a table's projection (its content is about to change)."""
    await connection.execute(
        f"DROP TABLE IF EXISTS {quote(NARROW_SCHEMA_NAME)}.{quote(table)}"
    )
