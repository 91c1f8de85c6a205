"""The PostgreSQL query backend on the loaded test catalog."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from rsp_tap.exceptions import BackendUnavailableError, TapError, UploadError
from rsp_tap.exceptions import QueryTimeoutError as ServiceTimeoutError
from rsp_tap.models.query import TranslatedQuery, UploadTable
from rsp_tap.models.schema import CatalogColumn, CatalogTable, VOTableDatatype
from rsp_tap.storage.backend import PostgresBackend, QueryBackend
from rsp_tap.storage.errors import (
    QueryCancelledError,
    QueryFailedError,
    QueryTimeoutError,
)
from tap_catalog_db import CatalogDatabase

OBJECT = '"dp01_dc2_catalogs"."object"'
ID = CatalogColumn(name="objectId", datatype=VOTableDatatype.long)
RA = CatalogColumn(name="ra", datatype=VOTableDatatype.double, unit="deg")


def _query(
    sql: str,
    *params: object,
    limit: int | None = None,
    columns: tuple[CatalogColumn, ...] = (ID,),
    uploads: tuple[UploadTable, ...] = (),
) -> TranslatedQuery:
    return TranslatedQuery(
        adql="(test)",
        sql=sql,
        params=params,
        columns=columns,
        limit=limit,
        uploads=uploads,
    )


def test_is_a_query_backend(catalog_database: CatalogDatabase) -> None:
    backend: QueryBackend = PostgresBackend(catalog_database.reader_dsn)
    assert backend is not None


async def test_rows_are_sequences(backend: PostgresBackend) -> None:
    query = _query(
        f'SELECT o."objectId", o.ra FROM {OBJECT} AS o WHERE o."objectId" > $1'
        ' ORDER BY o."objectId"',
        0,
        columns=(ID, RA),
    )
    result = await backend.run(query, maxrec=10, timeout=10)
    assert result.columns == (ID, RA)
    assert len(result.rows) == 10
    assert result.overflow
    first = result.rows[0]
    assert len(first) == 2
    object_id, ra = first
    assert isinstance(object_id, int)
    assert isinstance(ra, float)
    assert 50 <= ra <= 75
    ids = [r[0] for r in result.rows if isinstance(r[0], int)]
    assert len(ids) == 10
    assert ids == sorted(ids)


async def test_overflow_semantics(
    backend: PostgresBackend, catalog_database: CatalogDatabase
) -> None:
    everything = _query(f'SELECT "objectId" FROM {OBJECT}')
    result = await backend.run(everything, maxrec=None, timeout=10)
    assert len(result.rows) == catalog_database.scale
    assert not result.overflow
    exact = await backend.run(everything, maxrec=catalog_database.scale, timeout=10)
    assert len(exact.rows) == catalog_database.scale
    assert not exact.overflow
    one_less = await backend.run(
        everything, maxrec=catalog_database.scale - 1, timeout=10
    )
    assert len(one_less.rows) == catalog_database.scale - 1
    assert one_less.overflow
    nothing = await backend.run(everything, maxrec=0, timeout=10)
    assert nothing.rows == []
    assert nothing.overflow
    # TOP no larger than MAXREC: every row asked for is there, no overflow.
    top = _query(f'SELECT "objectId" FROM {OBJECT} LIMIT 5', limit=5)
    result = await backend.run(top, maxrec=5, timeout=10)
    assert len(result.rows) == 5
    assert not result.overflow
    # TOP larger than MAXREC: MAXREC cuts, and that is an overflow.
    top = _query(f'SELECT "objectId" FROM {OBJECT} LIMIT 50', limit=50)
    result = await backend.run(top, maxrec=20, timeout=10)
    assert len(result.rows) == 20
    assert result.overflow
    empty = _query(f'SELECT "objectId" FROM {OBJECT} WHERE ra < 0')
    result = await backend.run(empty, maxrec=0, timeout=10)
    assert result.rows == []
    assert not result.overflow


async def test_cone_search(backend: PostgresBackend) -> None:
    query = _query(
        f'SELECT o."objectId" FROM {OBJECT} AS o WHERE'
        " spoint(radians(o.ra), radians(o.dec))"
        " <@ scircle(spoint(radians($1), radians($2)), radians($3))",
        62.0,
        -35.0,
        2.0,
    )
    result = await backend.run(query, maxrec=10_000, timeout=10)
    assert 80 < len(result.rows) < 250


async def test_timeout(backend: PostgresBackend) -> None:
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError) as raised:
        await backend.run(_query("SELECT 1 FROM pg_sleep(5)"), maxrec=10, timeout=0.3)
    assert time.monotonic() - start < 3
    assert isinstance(raised.value, ServiceTimeoutError)
    assert "0.3 seconds" in raised.value.message
    # The connection is usable again afterwards.
    result = await backend.run(_query("SELECT 1"), maxrec=10, timeout=10)
    assert result.rows[0][0] == 1


async def _running(catalog_database: CatalogDatabase, label: str) -> bool:
    connection = await asyncpg.connect(catalog_database.owner_dsn)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = $1 AND state = 'active'",
            label,
        )
    finally:
        await connection.close()
    return count > 0


async def _wait_running(catalog_database: CatalogDatabase, label: str) -> None:
    for _ in range(100):
        if await _running(catalog_database, label):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{label} never ran")


async def test_cancel_by_job_id(
    backend: PostgresBackend, catalog_database: CatalogDatabase
) -> None:
    query = _query("SELECT 1 FROM pg_sleep(20)")
    task = asyncio.create_task(backend.run(query, maxrec=1, timeout=30, job_id="j1"))
    await _wait_running(catalog_database, "rsp-tap:j1")
    assert not await backend.cancel("other")
    start = time.monotonic()
    assert await backend.cancel("j1")
    with pytest.raises(QueryCancelledError):
        await task
    assert time.monotonic() - start < 5
    assert not await _running(catalog_database, "rsp-tap:j1")
    assert not await backend.cancel("j1")


async def test_cancelled_task_stops_the_sql(
    backend: PostgresBackend, catalog_database: CatalogDatabase
) -> None:
    query = _query("SELECT 1 FROM pg_sleep(20)")
    task = asyncio.create_task(backend.run(query, maxrec=1, timeout=30, job_id="j2"))
    await _wait_running(catalog_database, "rsp-tap:j2")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if not await _running(catalog_database, "rsp-tap:j2"):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the SQL kept running after its task was cancelled")


async def test_uploads_join_catalog(
    backend: PostgresBackend, catalog_database: CatalogDatabase
) -> None:
    owner = await asyncpg.connect(catalog_database.owner_dsn)
    try:
        ids = [
            r[0] for r in await owner.fetch(f'SELECT "objectId" FROM {OBJECT} LIMIT 3')
        ]
    finally:
        await owner.close()
    upload = UploadTable(
        table=CatalogTable(
            schema_name="TAP_UPLOAD",
            name="Mine",
            columns=(
                CatalogColumn(name="id", datatype=VOTableDatatype.long),
                CatalogColumn(
                    name="label", datatype=VOTableDatatype.char, arraysize="*"
                ),
                CatalogColumn(
                    name="pos", datatype=VOTableDatatype.double, arraysize="2"
                ),
            ),
        ),
        rows=[(ids[0], "a", [1.0, 2.0]), (ids[1], None, None), (12345, "x", None)],
    )
    query = _query(
        'SELECT u.label, o."objectId" FROM pg_temp."tap_upload_Mine" AS u'
        f' JOIN {OBJECT} AS o ON o."objectId" = u.id ORDER BY u.label',
        uploads=(upload,),
    )
    result = await backend.run(query, maxrec=10, timeout=10)
    assert [tuple(r) for r in result.rows] == [("a", ids[0]), (None, ids[1])]
    # Dropped at the end of the query's transaction.
    again = _query('SELECT count(*) FROM pg_temp."tap_upload_Mine"')
    with pytest.raises(QueryFailedError) as raised:
        await backend.run(again, maxrec=10, timeout=10)
    assert raised.value.message == "The query refers to a table that does not exist"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            f'INSERT INTO {OBJECT} ("objectId", ra, dec) VALUES (1, 1, 1)',
            "only reading",
        ),
        (f"DELETE FROM {OBJECT}", "only reading"),
        ("CREATE TABLE public.x (a int)", "only reading"),
        ("SELECT * FROM pg_authid", "not allowed"),
        ("SELECT 1 / 0", "division by zero"),
        ("SELECT 'abc'::double precision", "invalid input syntax for type double"),
        ("SELECT * FROM secret_schema.secret_table", "does not exist"),
        ("SELEC nonsense", "SQLSTATE 42601"),
    ],
)
async def test_errors_are_typed_and_safe(
    backend: PostgresBackend, sql: str, message: str
) -> None:
    with pytest.raises(QueryFailedError) as raised:
        await backend.run(_query(sql), maxrec=10, timeout=10)
    error = raised.value
    assert isinstance(error, TapError)
    assert message in error.message
    for leak in ("secret_schema", "pg_authid", "dp01_dc2_catalogs", "SELECT", "tap_"):
        assert leak not in error.message


async def test_upload_values_of_the_wrong_type(backend: PostgresBackend) -> None:
    upload = UploadTable(
        table=CatalogTable(
            schema_name="TAP_UPLOAD",
            name="bad",
            columns=(CatalogColumn(name="a", datatype=VOTableDatatype.long),),
        ),
        rows=[(1,), ("not a number",)],
    )
    query = _query('SELECT a FROM pg_temp."tap_upload_bad"', uploads=(upload,))
    with pytest.raises(UploadError, match="uploaded table bad"):
        await backend.run(query, maxrec=10, timeout=10)


async def test_writes_with_uploads_still_refused(backend: PostgresBackend) -> None:
    upload = UploadTable(
        table=CatalogTable(
            schema_name="TAP_UPLOAD",
            name="t",
            columns=(CatalogColumn(name="a", datatype=VOTableDatatype.int),),
        ),
        rows=[(1,)],
    )
    query = _query(f"DELETE FROM {OBJECT}", uploads=(upload,))
    with pytest.raises(QueryFailedError):
        await backend.run(query, maxrec=10, timeout=10)


async def test_concurrent_queries(backend: PostgresBackend) -> None:
    query = _query(f"SELECT count(*) FROM {OBJECT} WHERE mag_r < $1", 24.0)
    results = await asyncio.gather(
        *(backend.run(query, maxrec=1, timeout=10) for _ in range(6))
    )
    counts = {r.rows[0][0] for r in results}
    assert len(counts) == 1


async def test_prepared_statements_reused(backend: PostgresBackend) -> None:
    query = _query(f'SELECT "objectId" FROM {OBJECT} WHERE ra > $1 LIMIT 1', 60.0)
    for _ in range(3):
        await backend.run(query, maxrec=1, timeout=10)
    pool = await backend._get_pool()
    assert pool.get_size() == 1
    async with pool.acquire() as connection:
        prepared = await connection.fetch(
            "SELECT statement FROM pg_prepared_statements WHERE statement = $1",
            query.sql,
        )
    # Prepared once on the connection, and kept for the next runs.
    assert len(prepared) == 1


async def test_session_settings_follow_each_query(
    catalog_database: CatalogDatabase,
) -> None:
    # One connection: every query finds the settings the one before left.
    backend = PostgresBackend(catalog_database.reader_dsn, pool_size=1)
    settings = _query(
        "SELECT current_setting('application_name'),"
        " current_setting('statement_timeout')",
        columns=(ID, RA),
    )
    try:
        seen = [
            tuple((await backend.run(settings, **kwargs)).rows[0])
            for kwargs in (
                {"maxrec": 1, "timeout": 0.5, "job_id": "job1"},
                {"maxrec": 1, "timeout": 59.9871},
                {"maxrec": 1, "timeout": 59.9},
                {"maxrec": 1, "timeout": 2},
            )
        ]
    finally:
        await backend.aclose()
    assert seen == [
        ("rsp-tap:job1", "500ms"),
        ("rsp-tap", "1min"),  # long timeouts in whole seconds: 60 s
        ("rsp-tap", "1min"),
        ("rsp-tap", "2s"),
    ]


async def test_unreachable_database() -> None:
    backend = PostgresBackend("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(BackendUnavailableError):
        await backend.run(_query("SELECT 1"), maxrec=1, timeout=1)
    await backend.aclose()


async def test_connect_opens_connections_ahead(
    catalog_database: CatalogDatabase,
) -> None:
    backend = PostgresBackend(catalog_database.reader_dsn, pool_size=2)
    try:
        await backend.connect()
        connection = await asyncpg.connect(catalog_database.owner_dsn)
        try:
            connections = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE usename = $1 AND application_name = 'rsp-tap'",
                catalog_database.reader_role,
            )
        finally:
            await connection.close()
        assert connections >= 1
        result = await backend.run(_query("SELECT 1"), maxrec=1, timeout=5)
        assert result.rows[0][0] == 1
    finally:
        await backend.aclose()


async def test_connect_never_fails_on_an_unreachable_database() -> None:
    backend = PostgresBackend("postgresql://nobody@127.0.0.1:1/none")
    started = time.monotonic()
    await backend.connect()
    assert time.monotonic() - started < 6
    with pytest.raises(BackendUnavailableError):
        await backend.run(_query("SELECT 1"), maxrec=1, timeout=1)
    await backend.aclose()


async def test_execute_alias(backend: PostgresBackend) -> None:
    result = await backend.execute(_query("SELECT 1"), maxrec=5, timeout=5)
    assert result.rows[0][0] == 1
