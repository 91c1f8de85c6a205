"""Translated ADQL run on the real PostgreSQL + pgsphere test catalog.

Cone searches are checked against a brute-force haversine in numpy over every
object; joins and groupings against plain SQL written by hand; the spatial
index must be usable by the SQL the translator writes; every golden query
must run; generated queries may only fail on values, never on SQL.
"""

from __future__ import annotations

import asyncpg
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from rsp_tap.adql import AdqlError, translate
from rsp_tap.models.query import UploadTable
from rsp_tap.models.schema import (
    CatalogColumn,
    CatalogSchema,
    CatalogTable,
    VOTableDatatype,
)
from rsp_tap.storage.backend import PostgresBackend
from rsp_tap.storage.errors import QueryFailedError
from tap_adql_golden import GOLDEN
from tap_adql_strategies import queries
from tap_catalog_db import CatalogDatabase

CONES = [
    (61.863, -35.79, 200 / 3600),
    (61.863, -35.79, 1.0),
    (55.0, -30.0, 2.5),
    (70.0, -42.0, 0.75),
    (62.5, -37.5, 4.0),
]

_PYTHON_TYPES: dict[VOTableDatatype, type] = {
    VOTableDatatype.boolean: bool,
    VOTableDatatype.short: int,
    VOTableDatatype.int: int,
    VOTableDatatype.long: int,
    VOTableDatatype.float: float,
    VOTableDatatype.double: float,
    VOTableDatatype.char: str,
}


async def _positions(
    owner: asyncpg.Connection, table: str = "object"
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    ra, dec = ("coord_ra", "coord_dec") if table == "position" else ("ra", "dec")
    rows = await owner.fetch(
        f'SELECT {ra}, {dec}, "objectId" FROM "dp01_dc2_catalogs"."{table}"'
    )
    return (
        np.array([r[0] for r in rows], dtype=np.float64),
        np.array([r[1] for r in rows], dtype=np.float64),
        np.array([r[2] for r in rows], dtype=np.int64),
    )


def _separation(
    ra: npt.NDArray[np.float64], dec: npt.NDArray[np.float64], ra0: float, dec0: float
) -> npt.NDArray[np.float64]:
    """Angular distance in degrees (haversine)."""
    ra_r, dec_r = np.radians(ra), np.radians(dec)
    ra0_r, dec0_r = np.radians(ra0), np.radians(dec0)
    h = (
        np.sin((dec_r - dec0_r) / 2) ** 2
        + np.cos(dec_r) * np.cos(dec0_r) * np.sin((ra_r - ra0_r) / 2) ** 2
    )
    return np.asarray(np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))), np.float64)


async def _rows(
    backend: PostgresBackend,
    adql: str,
    schema: CatalogSchema,
    uploads: list[UploadTable] | None = None,
) -> list[tuple[object, ...]]:
    translated = translate(adql, schema, uploads=uploads or [])
    result = await backend.run(translated, maxrec=None, timeout=30)
    assert result.columns == translated.columns
    return [tuple(r) for r in result.rows]


@pytest.mark.parametrize(("ra0", "dec0", "radius"), CONES)
async def test_cone_search_matches_haversine(
    ra0: float,
    dec0: float,
    radius: float,
    backend: PostgresBackend,
    owner: asyncpg.Connection,
    catalog_schema: CatalogSchema,
) -> None:
    ra, dec, ids = await _positions(owner)
    distance = _separation(ra, dec, ra0, dec0)
    # Points on the very edge may fall either way in floating point.
    assert not np.any(np.abs(distance - radius) < 1e-9)
    expected = set(ids[distance < radius].tolist())
    circle = f"CIRCLE('ICRS', {ra0}, {dec0}, {radius})"
    forms = [
        f"SELECT objectId FROM dp01_dc2_catalogs.object"
        f" WHERE CONTAINS(POINT('ICRS', ra, dec), {circle}) = 1",
        f"SELECT objectId FROM dp01_dc2_catalogs.object"
        f" WHERE 1 = INTERSECTS({circle}, POINT('ICRS', ra, dec))",
        f"SELECT objectId FROM dp01_dc2_catalogs.object"
        f" WHERE DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', {ra0}, {dec0}))"
        f" < {radius}",
        f"SELECT objectId FROM dp01_dc2_catalogs.object"
        f" WHERE DISTANCE(ra, dec, {ra0}, {dec0}) < {radius}",
    ]
    for adql in forms:
        found = {r[0] for r in await _rows(backend, adql, catalog_schema)}
        assert found == expected, adql
    count = await _rows(
        backend,
        f"SELECT COUNT(*) FROM dp01_dc2_catalogs.object"
        f" WHERE CONTAINS(POINT('ICRS', ra, dec), {circle}) = 0",
        catalog_schema,
    )
    assert count == [(len(ids) - len(expected),)]


async def test_dp01_example_cone_with_magnitude_cuts(
    backend: PostgresBackend, owner: asyncpg.Connection, catalog_schema: CatalogSchema
) -> None:
    rows = await owner.fetch(
        'SELECT "objectId", ra, dec, mag_g, mag_i FROM "dp01_dc2_catalogs".object'
    )
    ra = np.array([r["ra"] for r in rows])
    dec = np.array([r["dec"] for r in rows])
    distance = _separation(ra, dec, 62.0, -37.0)
    expected = {
        r["objectId"]
        for r, d in zip(rows, distance, strict=True)
        if d < 3.0
        and r["mag_g"] is not None
        and r["mag_i"] is not None
        and r["mag_g"] < 24
        and r["mag_i"] < 24
    }
    assert expected
    found = await _rows(
        backend,
        "SELECT objectId, ra, dec, mag_g, mag_i FROM dp01_dc2_catalogs.object"
        " WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 62.0, -37.0, 3.0)) = 1"
        " AND mag_g < 24 AND mag_i < 24",
        catalog_schema,
    )
    assert {r[0] for r in found} == expected


async def test_polygon_and_box_match_numpy(
    backend: PostgresBackend, owner: asyncpg.Connection, catalog_schema: CatalogSchema
) -> None:
    ra, dec, ids = await _positions(owner)
    # A small box and a polygon with the same corners: great-circle edges and
    # the box's parallels differ by far less than the objects' spacing here.
    inside = ids[(ra > 60) & (ra < 62) & (dec > -37) & (dec < -35)]
    polygon = await _rows(
        backend,
        "SELECT objectId FROM object WHERE CONTAINS(POINT('ICRS', ra, dec),"
        " POLYGON('ICRS', 60, -37, 62, -37, 62, -35, 60, -35)) = 1",
        catalog_schema,
    )
    box = await _rows(
        backend,
        "SELECT objectId FROM object WHERE CONTAINS(POINT('ICRS', ra, dec),"
        " BOX('ICRS', 61, -36, 2, 2)) = 1",
        catalog_schema,
    )
    assert {r[0] for r in box} == set(inside.tolist())
    difference = {r[0] for r in polygon} ^ set(inside.tolist())
    assert len(difference) <= max(2, len(inside) // 50)


async def test_spatial_index_serves_the_translated_cone(
    owner: asyncpg.Connection, catalog_schema: CatalogSchema
) -> None:
    translated = translate(
        "SELECT objectId FROM dp01_dc2_catalogs.object WHERE"
        " CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 61.863, -35.79, 0.05)) = 1",
        catalog_schema,
    )
    async with owner.transaction():
        await owner.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in await owner.fetch(f"EXPLAIN {translated.sql}", *translated.params)
        )
    assert "object_position_idx" in plan


async def test_join_matches_sql(
    backend: PostgresBackend, owner: asyncpg.Connection, catalog_schema: CatalogSchema
) -> None:
    expected = await owner.fetchval(
        'SELECT count(*) FROM "dp01_dc2_catalogs".object AS o'
        ' JOIN "dp01_dc2_catalogs".truth_match AS t'
        ' ON o."objectId" = t."match_objectId" WHERE t.is_good_match'
    )
    assert expected > 0
    rows = await _rows(
        backend,
        "SELECT o.objectId, t.id, t.match_sep FROM dp01_dc2_catalogs.object AS o"
        " JOIN dp01_dc2_catalogs.truth_match AS t ON o.objectId = t.match_objectId"
        " WHERE t.is_good_match = 1",
        catalog_schema,
    )
    assert len(rows) == expected
    left = await _rows(
        backend,
        "SELECT COUNT(*) FROM object AS o LEFT OUTER JOIN truth_match AS t"
        " ON o.objectId = t.match_objectId",
        catalog_schema,
    )
    assert left[0][0] >= await owner.fetchval(
        'SELECT count(*) FROM "dp01_dc2_catalogs".object'
    )
    exists = await _rows(
        backend,
        "SELECT COUNT(*) FROM object AS o WHERE EXISTS (SELECT 1 FROM truth_match"
        " AS t WHERE t.match_objectId = o.objectId AND t.is_good_match = 1)",
        catalog_schema,
    )
    assert exists[0][0] == await owner.fetchval(
        'SELECT count(DISTINCT "match_objectId") FROM "dp01_dc2_catalogs".truth_match'
        " WHERE is_good_match"
    )


async def test_group_by_matches_sql(
    backend: PostgresBackend, owner: asyncpg.Connection, catalog_schema: CatalogSchema
) -> None:
    expected = {
        (r["tract"], r["n"], r["bright"])
        for r in await owner.fetch(
            "SELECT tract, count(*) AS n, min(mag_g)::float8 AS bright"
            ' FROM "dp01_dc2_catalogs".object GROUP BY tract HAVING count(*) > 10'
        )
    }
    rows = await _rows(
        backend,
        "SELECT tract, COUNT(*) AS n, MIN(mag_g) AS bright FROM object"
        " GROUP BY tract HAVING COUNT(*) > 10 ORDER BY n DESC",
        catalog_schema,
    )
    assert set(rows) == expected
    counts = [int(str(r[1])) for r in rows]
    assert counts == sorted(counts, reverse=True)


async def test_upload_join(
    backend: PostgresBackend, owner: asyncpg.Connection, catalog_schema: CatalogSchema
) -> None:
    ra, dec, ids = await _positions(owner)
    centres = [(61.0, -36.0), (66.0, -33.0)]
    upload = UploadTable(
        CatalogTable(
            schema_name="TAP_UPLOAD",
            name="targets",
            columns=(
                CatalogColumn("target", VOTableDatatype.int),
                CatalogColumn("ra", VOTableDatatype.double, unit="deg"),
                CatalogColumn("dec", VOTableDatatype.double, unit="deg"),
            ),
        ),
        rows=[(i, r, d) for i, (r, d) in enumerate(centres)],
    )
    rows = await _rows(
        backend,
        "SELECT u.target, o.objectId FROM TAP_UPLOAD.targets AS u"
        " JOIN dp01_dc2_catalogs.object AS o ON 1 = CONTAINS("
        "POINT('ICRS', o.ra, o.dec), CIRCLE('ICRS', u.ra, u.dec, 1.5))",
        catalog_schema,
        [upload],
    )
    expected = {
        (i, int(object_id))
        for i, (r, d) in enumerate(centres)
        for object_id in ids[_separation(ra, dec, r, d) < 1.5]
    }
    assert set(rows) == expected


async def test_values_have_the_declared_types(
    backend: PostgresBackend, catalog_schema: CatalogSchema
) -> None:
    translated = translate(
        "SELECT TOP 20 objectId, ra + 1, tract * 2, mag_g / 2, ROUND(ra, 2),"
        " TRUNCATE(dec), MOD(ra, 7), 1.5, 2, 'text', patch || '!', LOWER(patch),"
        " POINT('ICRS', ra, dec), CIRCLE('ICRS', ra, dec, 0.1),"
        " DISTANCE(ra, dec, 60, -30), COORD1(POINT('ICRS', ra, dec)),"
        " CAST(ra AS INTEGER), CAST(tract AS VARCHAR(5)), ra > 60, good,"
        " CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 62, -36, 2)),"
        " COALESCE(mag_g, 99), CASE WHEN ra > 62 THEN 'east' ELSE 'west' END"
        " FROM dp01_dc2_catalogs.object WHERE mag_g IS NOT NULL",
        catalog_schema,
    )
    result = await backend.run(translated, maxrec=None, timeout=30)
    assert len(result.rows) == 20
    for row in result.rows:
        for value, column in zip(row, translated.columns, strict=True):
            if value is None:
                continue
            if column.arraysize in {"2", "3"}:
                assert isinstance(value, list), column.name
                assert len(value) == int(column.arraysize)
                assert all(isinstance(v, float) for v in value)
            else:
                assert isinstance(value, _PYTHON_TYPES[column.datatype]), column.name


@pytest.mark.parametrize(("adql", "sql", "params"), GOLDEN)
async def test_golden_queries_run(
    adql: str,
    sql: str,
    params: tuple[object, ...],
    backend: PostgresBackend,
    catalog_schema: CatalogSchema,
    upload: UploadTable,
) -> None:
    translated = translate(adql, catalog_schema, uploads=[upload])
    assert translated.sql == sql
    try:
        result = await backend.run(translated, maxrec=5, timeout=30)
    except QueryFailedError as error:
        failure = error.message
    else:
        assert len(result.rows) <= 5
        return
    # Only values may fail (ASIN of a right ascension...), never the SQL.
    assert "could not be evaluated" in failure


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(adql=queries)
def test_generated_queries_fail_only_on_values(
    adql: str, catalog_database: CatalogDatabase, catalog_schema: CatalogSchema
) -> None:
    try:
        translated = translate(adql, catalog_schema)
    except AdqlError:
        return
    import asyncio  # noqa: PLC0415

    async def run() -> tuple[str, str] | None:
        connection = await asyncpg.connect(catalog_database.reader_dsn)
        try:
            async with connection.transaction(readonly=True):
                await connection.execute("SET LOCAL statement_timeout = 5000")
                await connection.fetch(translated.sql, *translated.params)
        except asyncpg.PostgresError as error:
            return error.sqlstate or "", str(error)
        finally:
            await connection.close()
        return None

    failure = asyncio.run(run())
    if failure is not None:
        state, message = failure
        # Data exceptions, and pgsphere refusing a radius taken from a column.
        assert state.startswith("22") or "radius" in message, (state, message, adql)
