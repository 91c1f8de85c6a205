"""The PostgreSQL backend's column-wise fetch (binary COPY) on the test catalog."""

from __future__ import annotations

import asyncio
import math

import asyncpg
import pytest
from rsp_tap.models.columns import ColumnarRows
from rsp_tap.models.query import TranslatedQuery
from rsp_tap.models.schema import CatalogColumn, VOTableDatatype
from rsp_tap.storage.backend import PostgresBackend
from rsp_tap.storage.copyout import FIXED_WIDTH_TYPES
from rsp_tap.storage.errors import QueryCancelledError, QueryTimeoutError
from tap_catalog_db import CatalogDatabase

T = VOTableDatatype
OBJECT = '"dp01_dc2_catalogs"."object"'
WIDE = (
    '"objectId", ra, dec, mag_g, mag_r, magerr_g, extendedness, good, clean'
    f" FROM {OBJECT}"
)


def _query(sql: str, *params: object, limit: int | None = None) -> TranslatedQuery:
    # The writers' metadata does not matter to the backend.
    columns = tuple(CatalogColumn(f"c{i}", T.double) for i in range(13))
    return TranslatedQuery(
        adql="(test)", sql=sql, params=params, columns=columns, limit=limit
    )


async def _records(database: CatalogDatabase, sql: str) -> list[tuple[object, ...]]:
    connection = await asyncpg.connect(database.reader_dsn)
    try:
        return [tuple(r) for r in await connection.fetch(sql)]
    finally:
        await connection.close()


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return (math.isnan(left) and math.isnan(right)) or left == right
    return left == right and type(left) is type(right)


def _assert_rows_equal(got: object, expected: list[tuple[object, ...]]) -> None:
    rows = list(got)  # type: ignore[call-overload]
    assert len(rows) == len(expected)
    for mine, theirs in zip(rows, expected, strict=True):
        assert len(mine) == len(theirs)
        assert all(_same(a, b) for a, b in zip(mine, theirs, strict=True)), (
            mine,
            theirs,
        )


async def test_catalog_rows_come_column_wise_as_records_would(
    backend: PostgresBackend, catalog_database: CatalogDatabase
) -> None:
    sql = f'SELECT {WIDE} ORDER BY "objectId"'
    result = await backend.run(_query(sql), maxrec=None, timeout=10)
    assert isinstance(result.rows, ColumnarRows)
    expected = await _records(catalog_database, sql)
    assert any(None in row for row in expected)  # the catalog has NULL magnitudes
    _assert_rows_equal(result.rows, expected)


async def test_nulls_of_every_type(
    backend: PostgresBackend, catalog_database: CatalogDatabase
) -> None:
    sql = (
        "SELECT * FROM (VALUES"
        " (true, 1::int2, 2::int4, 3::int8, 1.5::float4, 2.5::float8),"
        " (NULL, NULL, NULL, NULL, NULL, NULL),"
        " (false, (-32768)::int2, (-2147483648)::int4,"
        "  (-9223372036854775808)::int8,"
        "  'NaN'::float4, '-Infinity'::float8),"
        " (NULL, 0::int2, NULL, 0::int8, NULL, 0::float8)"
        ") AS v(b, s, i, l, f, d)"
    )
    result = await backend.run(_query(sql), maxrec=None, timeout=10)
    assert isinstance(result.rows, ColumnarRows)
    _assert_rows_equal(result.rows, await _records(catalog_database, sql))
    assert result.rows[1] == (None,) * 6
    assert result.rows[3][0] is None  # a NULL boolean is not False


async def test_empty_result_column_wise(backend: PostgresBackend) -> None:
    sql = f'SELECT {WIDE} WHERE "objectId" < 0'
    result = await backend.run(_query(sql), maxrec=10, timeout=10)
    assert isinstance(result.rows, ColumnarRows)
    assert len(result.rows) == 0
    assert not result.overflow


async def test_overflow_row_column_wise(
    backend: PostgresBackend, catalog_database: CatalogDatabase
) -> None:
    sql = f'SELECT {WIDE} ORDER BY mag_r DESC NULLS LAST, "objectId"'
    result = await backend.run(_query(sql), maxrec=25, timeout=10)
    assert isinstance(result.rows, ColumnarRows)
    assert result.overflow
    # The first 25 rows of the ordered query: MAXREC + 1 were fetched, one dropped.
    _assert_rows_equal(result.rows, (await _records(catalog_database, sql))[:25])
    exact = await backend.run(
        _query(sql, limit=None), maxrec=catalog_database.scale, timeout=10
    )
    assert not exact.overflow
    assert len(exact.rows) == catalog_database.scale
    top = await backend.run(_query(f"{sql} LIMIT 25", limit=25), maxrec=25, timeout=10)
    assert not top.overflow  # TOP asked for exactly MAXREC rows
    assert len(top.rows) == 25


async def test_repeated_statement_skips_the_description(
    backend: PostgresBackend,
) -> None:
    sql = f'SELECT "objectId", ra FROM {OBJECT} ORDER BY "objectId" LIMIT 3'
    first = await backend.run(_query(sql), maxrec=None, timeout=10)
    # Known now: the next run copies at once, with the same answer.
    assert backend._result_types[sql] is not None
    again = await backend.run(_query(sql), maxrec=None, timeout=10)
    assert isinstance(again.rows, ColumnarRows)
    assert again.rows == list(first.rows)


@pytest.mark.parametrize(
    "sql",
    [
        # Strings (non-ASCII too), numerics, timestamps: not of a fixed width.
        "SELECT 'été 日本'::text AS s, 1::int8 AS n UNION ALL SELECT NULL, NULL",
        'SELECT avg("objectId") FROM ' + OBJECT,
        "SELECT now() AS t",
    ],
)
async def test_other_types_come_as_records(
    backend: PostgresBackend, catalog_database: CatalogDatabase, sql: str
) -> None:
    for _ in range(2):  # described, then known from the cache
        result = await backend.run(_query(sql), maxrec=10, timeout=10)
        assert not isinstance(result.rows, ColumnarRows)
        assert backend._result_types[sql] is None
    if "text" in sql:
        assert list(result.rows) == [("été 日本", 1), (None, None)]
        assert list(result.rows) == await _records(catalog_database, sql)


async def test_statements_with_parameters_come_as_records(
    backend: PostgresBackend,
) -> None:
    sql = f'SELECT "objectId", ra FROM {OBJECT} WHERE ra > $1 LIMIT 2'
    result = await backend.run(_query(sql, 0.0), maxrec=10, timeout=10)
    assert not isinstance(result.rows, ColumnarRows)
    assert len(result.rows) == 2


async def test_changed_types_fall_back_to_records(backend: PostgresBackend) -> None:
    sql = "SELECT 1::int8 AS n, 2.5::float8 AS x"
    first = await backend.run(_query(sql), maxrec=None, timeout=10)
    assert isinstance(first.rows, ColumnarRows)
    # As if the statement's types had changed since they were described.
    known = backend._result_types[sql]
    assert known is not None
    backend._result_types[sql] = (FIXED_WIDTH_TYPES[23], known[1])  # int4, 4 bytes
    again = await backend.run(_query(sql), maxrec=None, timeout=10)
    assert list(again.rows) == [(1, 2.5)]
    assert sql not in backend._result_types  # forgotten: described anew next time
    third = await backend.run(_query(sql), maxrec=None, timeout=10)
    assert isinstance(third.rows, ColumnarRows)
    assert third.rows == [(1, 2.5)]


async def test_timeout_and_cancel_stop_a_copy(backend: PostgresBackend) -> None:
    # An integer column: read by COPY, which the statement timeout stops too.
    sql = "SELECT 1 AS n FROM pg_sleep(5)"
    with pytest.raises(QueryTimeoutError):
        await backend.run(_query(sql), maxrec=10, timeout=0.3)
    assert backend._result_types[sql] is not None
    task = asyncio.create_task(
        backend.run(_query(sql), maxrec=10, timeout=30, job_id="copy1")
    )
    for _ in range(100):
        if "copy1" in backend._running:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    assert await backend.cancel("copy1")
    with pytest.raises(QueryCancelledError):
        await task
    # The pooled connections are usable afterwards.
    again = await backend.run(_query("SELECT 2::int8 AS n"), maxrec=10, timeout=10)
    assert isinstance(again.rows, ColumnarRows)
    assert again.rows == [(2,)]
