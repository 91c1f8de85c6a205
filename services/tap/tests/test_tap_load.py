"""The catalog database after init-db and a load of the test sample."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from click.testing import CliRunner
from rsp_tap.cli import main
from rsp_tap.data.felis import load_catalog_schema
from rsp_tap.data.generate import TABLE_CODES, CatalogGenerator
from rsp_tap.data.load import index_specs
from rsp_tap.data.setup import init_database, tap_schema_rows
from tap_catalog_db import CatalogDatabase

CATALOG = '"dp01_dc2_catalogs"'


async def test_row_counts(
    owner: asyncpg.Connection, catalog_database: CatalogDatabase
) -> None:
    generator = CatalogGenerator(catalog_database.scale, seed=catalog_database.seed)
    truth_rows = sum(c.rows for c in generator.chunks("truth_match"))
    for table in TABLE_CODES:
        count = await owner.fetchval(f'SELECT count(*) FROM {CATALOG}."{table}"')
        expected = truth_rows if table == "truth_match" else catalog_database.scale
        assert count == expected, table
    report = {t.table: t.rows for t in catalog_database.report.tables}
    assert report["object"] == catalog_database.scale
    assert report["truth_match"] == truth_rows


async def test_loaded_rows_are_the_generated_ones(
    owner: asyncpg.Connection, catalog_database: CatalogDatabase
) -> None:
    generator = CatalogGenerator(catalog_database.scale, seed=catalog_database.seed)
    cell = next(c for c in generator.cells if c.count)
    chunk = generator.chunk("object", cell)
    ids = chunk.column("objectId").values.tolist()
    rows = await owner.fetch(
        f'SELECT "objectId", ra, mag_g, patch FROM {CATALOG}.object'
        ' WHERE "objectId" = any($1::bigint[]) ORDER BY "objectId"',
        ids,
    )
    assert len(rows) == len(ids)
    expected = sorted(
        zip(
            ids,
            chunk.column("ra").values.tolist(),
            chunk.column("patch").values.tolist(),
            strict=True,
        )
    )
    for row, (object_id, ra, patch) in zip(rows, expected, strict=True):
        assert row["objectId"] == object_id
        assert row["ra"] == ra
        assert row["patch"] == patch.decode()


async def test_no_nulls_but_magnitudes_of_negative_fluxes(
    owner: asyncpg.Connection,
) -> None:
    schema = load_catalog_schema()
    for name in ("object", "truth_match", "position"):
        table = schema.table("dp01_dc2_catalogs", name)
        assert table is not None
        counts = ", ".join(f'count("{c.name}")' for c in table.columns)
        row = await owner.fetchrow(f"SELECT count(*), {counts} FROM {CATALOG}.{name}")
        assert row is not None
        total = row[0]
        for column, count in zip(table.columns, list(row)[1:], strict=True):
            if count != total:
                assert column.unit == "mag", f"{name}.{column.name}"
                assert column.name.startswith(("mag_", "magerr_")), column.name


async def test_indexes_built_and_object_clustered(owner: asyncpg.Connection) -> None:
    schema = load_catalog_schema()
    for name in TABLE_CODES:
        table = schema.table("dp01_dc2_catalogs", name)
        assert table is not None
        rows = await owner.fetch(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = 'dp01_dc2_catalogs' AND tablename = $1",
            name,
        )
        built = {r["indexname"]: r["indexdef"] for r in rows}
        for spec in index_specs(table):
            assert spec.name in built, spec.name
        spatial = built[f"{name}_position_idx"]
        assert "USING gist" in spatial
        assert "spoint(radians(" in spatial
    clustered = await owner.fetchval(
        "SELECT indisclustered FROM pg_index"
        " WHERE indexrelid = 'dp01_dc2_catalogs.object_position_idx'::regclass"
    )
    assert clustered
    analysed = await owner.fetchval(
        "SELECT count(*) FROM pg_stats WHERE schemaname = 'dp01_dc2_catalogs'"
        " AND tablename = 'object'"
    )
    assert analysed > 100


async def test_cone_search_uses_the_spatial_index(reader: asyncpg.Connection) -> None:
    sql = (
        f'SELECT "objectId" FROM {CATALOG}.object AS o WHERE'
        " spoint(radians(o.ra), radians(o.dec))"
        " <@ scircle(spoint(radians($1), radians($2)), radians($3))"
    )
    async with reader.transaction():
        await reader.execute("SET LOCAL enable_seqscan = off")
        plan = await reader.fetch(f"EXPLAIN {sql}", 62.0, -35.0, 1.0)
    assert "object_position_idx" in "\n".join(r[0] for r in plan)
    rows = await reader.fetch(sql, 62.0, -35.0, 1.0)
    # 5000 objects over about 407 square degrees: about 39 within 1 degree.
    assert 15 < len(rows) < 70


async def test_truth_match_joins_objects(reader: asyncpg.Connection) -> None:
    row = await reader.fetchrow(
        f"SELECT count(*) AS n, count(*) FILTER (WHERE t.is_good_match) AS good,"
        f" max(abs(t.mag_r - o.mag_r)) FILTER (WHERE t.is_good_match"
        f" AND o.magerr_r < 0.05) AS worst"
        f" FROM {CATALOG}.truth_match AS t JOIN {CATALOG}.object AS o"
        f' ON o."objectId" = t."match_objectId"'
    )
    assert row is not None
    assert row["n"] > 0.9 * 5000
    assert row["good"] > 0.8 * row["n"]
    assert row["worst"] < 0.5


async def test_tap_schema_describes_every_table(reader: asyncpg.Connection) -> None:
    schema = load_catalog_schema()
    rows = tap_schema_rows(schema)
    for name, expected in rows.items():
        count = await reader.fetchval(f'SELECT count(*) FROM "TAP_SCHEMA"."{name}"')
        assert count == len(expected), name
    columns = await reader.fetch(
        'SELECT column_name, datatype, unit, ucd, principal, indexed, "size"'
        ' FROM "TAP_SCHEMA".columns WHERE table_name = $1 ORDER BY column_index',
        "dp01_dc2_catalogs.object",
    )
    assert [tuple(r) for r in columns[:3]] == [
        ("objectId", "long", None, "meta.id;src", 1, 1, None),
        ("parentObjectId", "long", None, None, 1, 1, None),
        ("ra", "double", "deg", "pos.eq.ra", 1, 1, None),
    ]
    size = await reader.fetchval(
        'SELECT count(*) FROM "TAP_SCHEMA".columns WHERE column_name = \'"size"\''
    )
    assert size == 1
    tables = await reader.fetch(
        'SELECT table_name FROM "TAP_SCHEMA".tables ORDER BY table_index'
    )
    assert tables[0]["table_name"] == "dp01_dc2_catalogs.object"


@pytest.mark.parametrize(
    "statement",
    [
        f'INSERT INTO {CATALOG}.object ("objectId", ra, dec) VALUES (1, 60, -30)',
        f"UPDATE {CATALOG}.object SET ra = 0",
        f"DELETE FROM {CATALOG}.truth_match",
        f"TRUNCATE {CATALOG}.position",
        f"DROP TABLE {CATALOG}.object",
        f"CREATE TABLE {CATALOG}.intruder (a int)",
        "CREATE TABLE public.intruder (a int)",
        'DELETE FROM "TAP_SCHEMA".columns',
        "CREATE SCHEMA intruder",
        f"ALTER TABLE {CATALOG}.object ADD COLUMN intruder int",
        f"CREATE INDEX intruder ON {CATALOG}.object (ra)",
    ],
)
async def test_reader_cannot_write(
    reader: asyncpg.Connection, owner: asyncpg.Connection, statement: str
) -> None:
    before = await owner.fetchval(f"SELECT count(*) FROM {CATALOG}.object")
    transaction = reader.transaction()
    await transaction.start()
    # Privileges refuse it, even with the read-only default turned off.
    await reader.execute("SET TRANSACTION READ WRITE")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.execute(statement)
    await transaction.rollback()
    assert await owner.fetchval(f"SELECT count(*) FROM {CATALOG}.object") == before
    assert await reader.fetchval("SHOW default_transaction_read_only") == "on"
    assert await reader.fetchval("SHOW plan_cache_mode") == "force_custom_plan"


async def test_reader_can_use_temporary_tables(reader: asyncpg.Connection) -> None:
    async with reader.transaction():
        await reader.execute("SET TRANSACTION READ WRITE")
        await reader.execute(
            'CREATE TEMPORARY TABLE "tap_upload_t" (id bigint) ON COMMIT DROP'
        )
        await reader.copy_records_to_table(
            "tap_upload_t", schema_name="pg_temp", records=[(1,), (2,)]
        )
        assert await reader.fetchval('SELECT count(*) FROM pg_temp."tap_upload_t"') == 2


async def test_init_db_is_idempotent(
    owner: asyncpg.Connection, catalog_database: CatalogDatabase
) -> None:
    before = await owner.fetchval(f"SELECT count(*) FROM {CATALOG}.object")
    await init_database(
        owner, load_catalog_schema(), reader_role=catalog_database.reader_role
    )
    assert await owner.fetchval(f"SELECT count(*) FROM {CATALOG}.object") == before
    columns = await owner.fetchval('SELECT count(*) FROM "TAP_SCHEMA".columns')
    assert columns == len(tap_schema_rows(load_catalog_schema())["columns"])


def test_cli_help_and_bad_tables() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "init-db" in result.output
    assert "load" in result.output
    result = runner.invoke(
        main,
        [
            "load",
            "--database-url",
            "postgresql://x/y",
            "--scale",
            "1",
            "--tables",
            "nope",
        ],
    )
    assert result.exit_code == 2
    assert "unknown tables nope" in result.output


async def test_init_db_sets_the_reader_password(
    owner: asyncpg.Connection, catalog_database: CatalogDatabase
) -> None:
    role = f"{catalog_database.reader_role}_pw"
    try:
        await init_database(
            owner, load_catalog_schema(), reader_role=role, reader_password="s3cr'et"
        )
        row = await owner.fetchrow(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolpassword IS NOT NULL"
            " AS has_password FROM pg_authid WHERE rolname = $1",
            role,
        )
        assert row is not None
        assert row["rolcanlogin"]
        assert not row["rolsuper"]
        assert not row["rolcreaterole"]
        assert row["has_password"]
        readable = await owner.fetchval(
            "SELECT has_table_privilege($1, 'dp01_dc2_catalogs.object', 'SELECT')",
            role,
        )
        assert readable
    finally:
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_cli_loads_with_worker_processes(catalog_database: CatalogDatabase) -> None:
    """init-db and load from the command line, chunks made in 2 processes."""
    server = catalog_database.owner_dsn.rsplit("/", 1)[0]
    run = uuid.uuid4().hex[:12]
    name, role = f"tap_test_cli_{run}", f"tap_reader_cli_{run}"
    url = f"{server}/{name}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        runner = CliRunner()
        result = runner.invoke(
            main, ["init-db", "--database-url", url, "--reader-role", role]
        )
        assert result.exit_code == 0, result.output
        arguments = ["load", "--database-url", url, "--scale", "2000", "--quiet"]
        arguments += ["--seed", str(catalog_database.seed), "--jobs", "2"]
        arguments += ["--tables", "object,position"]
        result = runner.invoke(main, arguments)
        assert result.exit_code == 0, result.output
        assert "object" in result.output
        assert "truth_match" not in result.output
        counts = asyncio.run(_counts(url))
        assert counts["object"] == counts["position"] == 2000
        assert counts["truth_match"] == 0
        generator = CatalogGenerator(2000, seed=catalog_database.seed)
        ids = sum(
            int(c.column("objectId").values.sum()) for c in generator.chunks("object")
        )
        assert counts["ids"] == ids
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_admin(server, f'DROP ROLE IF EXISTS "{role}"'))


async def _admin(server: str, statement: str) -> None:
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _counts(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url)
    try:
        counts = {
            table: await connection.fetchval(f"SELECT count(*) FROM {CATALOG}.{table}")
            for table in ("object", "position", "truth_match")
        }
        counts["ids"] = int(
            await connection.fetchval(f'SELECT sum("objectId") FROM {CATALOG}.object')
        )
    finally:
        await connection.close()
    return counts
