"""The narrow projection of ``object`` on real PostgreSQL: built, found, used.

The session's catalog (``catalog_database``) is loaded with the projection,
as ``rsp-tap load`` does by default. Queries answered through the query
service with the projection and without it must give the same bytes.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
import structlog
from click.testing import CliRunner
from rsp_tap.adql import translate
from rsp_tap.cli import main
from rsp_tap.data.felis import load_catalog_schema
from rsp_tap.data.narrow import NARROW_COLUMNS, build_narrow_table
from rsp_tap.models.narrow import NO_NARROW_TABLES
from rsp_tap.models.schema import CatalogSchema
from rsp_tap.services.query import Parameters, QueryService
from rsp_tap.services.uploads import UploadLimits, UploadService
from rsp_tap.storage.backend import PostgresBackend
from rsp_tap.storage.narrow import read_narrow_tables
from tap_catalog_db import CatalogDatabase

WIDE = '"dp01_dc2_catalogs"."object"'
NARROW = '"dp01_dc2_catalogs_narrow"."object"'
OBJECT = "dp01_dc2_catalogs.object"
CONE = "CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 62, -35, 3)) = 1"
COLUMNS = (
    "objectId, ra, dec, mag_g, mag_r, mag_i, magerr_g, magerr_r, magerr_i,"
    " extendedness, good, clean"
)


async def _check_projection(
    owner: asyncpg.Connection, catalog_database: CatalogDatabase
) -> None:
    """The projection is complete, indexed, clustered, frozen and readable."""
    columns = await owner.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        NARROW,
    )
    assert {r["attname"] for r in columns} == set(NARROW_COLUMNS["object"])
    indexes = await owner.fetch(
        "SELECT c.relname, i.indisprimary, i.indisclustered,"
        " pg_get_indexdef(i.indexrelid) AS definition"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = $1::regclass",
        NARROW,
    )
    found = {r["relname"]: r for r in indexes}
    assert set(found) == {
        "object_pkey",
        "object_parentObjectId_idx",
        "object_position_idx",
    }
    assert found["object_pkey"]["indisprimary"]
    spatial = found["object_position_idx"]
    assert spatial["indisclustered"]
    assert 'USING gist (spoint(radians(ra), radians("dec")))' in spatial["definition"]
    # Row for row in the order of the clustered table.
    same_order = await owner.fetchval(
        f'SELECT array_agg("objectId" ORDER BY ctid) FROM {NARROW}'
    ) == await owner.fetchval(f'SELECT array_agg("objectId" ORDER BY ctid) FROM {WIDE}')
    assert same_order
    pages, visible = await owner.fetchrow(
        "SELECT relpages, relallvisible FROM pg_class WHERE oid = $1::regclass",
        NARROW,
    )
    assert pages == visible
    wide_pages = await owner.fetchval(
        "SELECT relpages FROM pg_class WHERE oid = $1::regclass", WIDE
    )
    assert pages * 4 < wide_pages
    analysed = await owner.fetchval(
        "SELECT count(*) FROM pg_stats"
        " WHERE schemaname = 'dp01_dc2_catalogs_narrow' AND tablename = 'object'"
    )
    assert analysed == len(NARROW_COLUMNS["object"])
    role = catalog_database.reader_role
    assert await owner.fetchval(
        "SELECT has_schema_privilege($1, 'dp01_dc2_catalogs_narrow', 'USAGE')"
        " AND has_table_privilege($1, $2, 'SELECT')"
        " AND NOT has_table_privilege($1, $2, 'INSERT, UPDATE, DELETE, TRUNCATE')",
        role,
        NARROW,
    )
    assert not await owner.fetchval(
        "SELECT has_schema_privilege($1, 'dp01_dc2_catalogs_narrow', 'CREATE')", role
    )
    building = await owner.fetchval(
        "SELECT to_regnamespace('dp01_dc2_catalogs_narrow_build')"
    )
    assert building is None


async def test_load_builds_the_projection(
    owner: asyncpg.Connection, catalog_database: CatalogDatabase
) -> None:
    report = {t.table: t for t in catalog_database.report.tables}
    assert report["narrow object"].rows == catalog_database.scale
    names = [t.table for t in catalog_database.report.tables]
    assert names.index("narrow object") == names.index("object") + 1
    await _check_projection(owner, catalog_database)


async def test_tap_schema_does_not_list_it(reader: asyncpg.Connection) -> None:
    rows = await reader.fetch(
        'SELECT schema_name FROM "TAP_SCHEMA".schemas UNION ALL'
        ' SELECT table_name FROM "TAP_SCHEMA".tables UNION ALL'
        ' SELECT table_name FROM "TAP_SCHEMA".columns'
    )
    assert not [r for r in rows if "narrow" in r[0]]


async def test_the_reader_finds_it(
    reader: asyncpg.Connection, catalog_schema: CatalogSchema
) -> None:
    found = await read_narrow_tables(reader, catalog_schema)
    assert len(found.tables) == 1
    table = found.tables[0]
    assert (table.schema_name, table.table_name) == ("dp01_dc2_catalogs", "object")
    assert table.sql == NARROW
    assert table.columns == frozenset(NARROW_COLUMNS["object"])


async def test_a_role_that_cannot_read_it_finds_none(
    owner: asyncpg.Connection,
    catalog_database: CatalogDatabase,
    catalog_schema: CatalogSchema,
) -> None:
    role = f"tap_narrow_none_{uuid.uuid4().hex[:8]}"
    await owner.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        server = catalog_database.reader_dsn.split("://", 1)[1].split("@", 1)[1]
        connection = await asyncpg.connect(f"postgresql://{role}@{server}")
        try:
            found = await read_narrow_tables(connection, catalog_schema)
        finally:
            await connection.close()
        assert found == NO_NARROW_TABLES
    finally:
        await owner.execute(f'DROP ROLE "{role}"')


async def test_backend_without_a_database_finds_none(
    catalog_schema: CatalogSchema,
) -> None:
    backend = PostgresBackend("postgresql://nobody@127.0.0.1:1/none")
    try:
        assert await backend.read_narrow_tables(catalog_schema) == NO_NARROW_TABLES
        assert backend.narrow_tables == NO_NARROW_TABLES
    finally:
        await backend.aclose()


def _service(backend: PostgresBackend, schema: CatalogSchema) -> QueryService:
    limits = UploadLimits(
        max_bytes=1_000_000,
        max_rows=1000,
        max_tables=2,
        url_timeout=timedelta(seconds=5),
    )
    return QueryService(
        schema=schema,
        backend=backend,
        uploads=UploadService(limits, httpx.AsyncClient()),
        slots=asyncio.Semaphore(2),
        maxrec_default=100_000,
        maxrec_limit=1_000_000,
        logger=structlog.get_logger("test"),
    )


_IDENTICAL = [
    f"SELECT {COLUMNS} FROM {OBJECT} WHERE {CONE} ORDER BY objectId",
    f"SELECT {COLUMNS} FROM {OBJECT} WHERE {CONE}",
    f"SELECT TOP 100 {COLUMNS} FROM {OBJECT} WHERE {CONE} ORDER BY mag_r DESC,"
    " objectId",
    f"SELECT COUNT(*) AS n, AVG(mag_r) AS m, MIN(dec), MAX(dec) FROM {OBJECT}",
    f"SELECT good, clean, COUNT(*) AS n, AVG(magerr_z) FROM {OBJECT}"
    " GROUP BY good, clean ORDER BY good, clean",
    f"SELECT c.objectId, c.mag_u, p.objectId AS parent FROM {OBJECT} AS c"
    f" JOIN {OBJECT} AS p ON c.parentObjectId = p.objectId ORDER BY c.objectId",
    "SELECT TOP 500 t.id, o.objectId, o.mag_r - t.mag_r AS dr"
    f" FROM dp01_dc2_catalogs.truth_match AS t JOIN {OBJECT} AS o"
    " ON t.match_objectId = o.objectId ORDER BY t.id",
    f"SELECT objectId, POINT('ICRS', ra, dec) AS p,"
    f" DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 62, -35)) AS d"
    f" FROM {OBJECT} WHERE {CONE} ORDER BY d, objectId",
]


@pytest.mark.parametrize("response_format", ["votable", "csv", "parquet"])
async def test_answers_are_identical_with_and_without_it(
    catalog_database: CatalogDatabase,
    catalog_schema: CatalogSchema,
    response_format: str,
) -> None:
    routed = PostgresBackend(catalog_database.reader_dsn, pool_size=2)
    plain = PostgresBackend(catalog_database.reader_dsn, pool_size=2)
    try:
        await routed.read_narrow_tables(catalog_schema)
        with_narrow = _service(routed, catalog_schema)
        without = _service(plain, catalog_schema)
        for adql in _IDENTICAL:
            request = with_narrow.parse_request(
                Parameters(
                    [("LANG", "ADQL"), ("QUERY", adql), ("FORMAT", response_format)]
                )
            )
            assert NARROW in with_narrow.translate(adql).sql
            assert NARROW not in without.translate(adql).sql
            one = await with_narrow.run(request, {}, timeout=30)
            other = await without.run(request, {}, timeout=30)
            assert one.rows > 0, adql
            assert one.rows == other.rows
            assert one.content == other.content, adql
    finally:
        await routed.aclose()
        await plain.aclose()


async def test_a_routed_cone_reads_the_projection(
    reader: asyncpg.Connection, catalog_schema: CatalogSchema
) -> None:
    narrow = await read_narrow_tables(reader, catalog_schema)
    adql = (
        f"SELECT {COLUMNS} FROM {OBJECT} WHERE CONTAINS(POINT('ICRS', ra, dec),"
        " CIRCLE('ICRS', 62, -35, 0.5)) = 1"
    )
    query = translate(adql, catalog_schema, narrow=narrow)
    async with reader.transaction():
        await reader.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in await reader.fetch(f"EXPLAIN (VERBOSE) {query.sql}", *query.params)
        )
    assert "dp01_dc2_catalogs_narrow.object" in plan.replace('"', "")
    assert "object_position_idx" in plan
    assert "dp01_dc2_catalogs.object" not in plan.replace('"', "")
    wide = translate(
        f"SELECT * FROM {OBJECT} WHERE {CONE}", catalog_schema, narrow=narrow
    )
    plan = "\n".join(r[0] for r in await reader.fetch(f"EXPLAIN (VERBOSE) {wide.sql}"))
    assert "dp01_dc2_catalogs_narrow" not in plan


async def test_rebuild_replaces_it_in_place(
    owner: asyncpg.Connection,
    catalog_database: CatalogDatabase,
    catalog_schema: CatalogSchema,
) -> None:
    """``build-narrow`` on a loaded database: same projection, grants kept."""
    table = catalog_schema.table("dp01_dc2_catalogs", "object")
    assert table is not None
    await owner.execute("DROP TABLE dp01_dc2_catalogs_narrow.object")
    build = await build_narrow_table(owner, table)
    assert build.rows == catalog_database.scale
    await _check_projection(owner, catalog_database)
    reader = await asyncpg.connect(catalog_database.reader_dsn)
    try:
        before = await reader.fetchval(f"SELECT count(*) FROM {NARROW}")
        result = await asyncio.to_thread(
            CliRunner().invoke,
            main,
            ["build-narrow", "--database-url", catalog_database.owner_dsn],
        )
        assert result.exit_code == 0, result.output
        assert "narrow object" in result.output
        assert await reader.fetchval(f"SELECT count(*) FROM {NARROW}") == before
    finally:
        await reader.close()
    await _check_projection(owner, catalog_database)
    assert load_catalog_schema().table("dp01_dc2_catalogs_narrow", "object") is None
