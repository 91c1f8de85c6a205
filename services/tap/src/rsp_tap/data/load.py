"""Bulk loading of the generated catalogs into PostgreSQL.

Each table is emptied and filled in one transaction by a binary ``COPY ...
FREEZE`` fed with chunks that worker processes generate and encode (so
generation and PostgreSQL's parsing run on different cores), with its
indexes dropped. Then the indexes are built: the primary key and btree
indexes on ids and join keys, and on every position-bearing table a GiST
index on ``spoint(radians(ra), radians(dec))`` — the exact expression the
ADQL translator emits for ``POINT('ICRS', ra, dec)``, so cone searches use
it. ``object`` is clustered on that index, and every table analysed.

Then the narrow projection of ``object`` (:mod:`.narrow`) is built from the
loaded table; it is dropped in the transaction that empties ``object``, so
it never holds other rows than the table it copies.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from ..models.schema import CatalogSchema, CatalogTable
from .felis import CATALOG_SCHEMA_NAME, load_catalog_schema
from .generate import TABLE_CODES, CatalogGenerator, encode_chunk, init_worker
from .indexes import IndexSpec, index_specs
from .narrow import NARROW_COLUMNS, build_narrow_table, drop_narrow_table
from .pgcopy import COPY_HEADER, COPY_TRAILER
from .setup import quote
from .timing import TableLoad

__all__ = [
    "CLUSTERED_TABLES",
    "IndexSpec",
    "LoadReport",
    "TableLoad",
    "index_specs",
    "load_catalogs",
]

CLUSTERED_TABLES = frozenset({"object"})
"""Tables rewritten in the order of their spatial index after loading."""

_MAINTENANCE_WORK_MEM = "1GB"

Progress = Callable[[str, int], None]
"""Told the table name and the objects of each chunk as it is sent."""


@dataclass(slots=True)
class LoadReport:
    """What a load did, table by table."""

    scale: int
    seed: int
    tables: list[TableLoad] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Total time."""
        return sum(t.seconds for t in self.tables)


async def _drop_indexes(connection: asyncpg.Connection, table: CatalogTable) -> None:
    qualified = f"{quote(table.schema_name)}.{quote(table.name)}"
    for spec in index_specs(table):
        if spec.name.endswith("_pkey"):
            await connection.execute(
                f"ALTER TABLE {qualified} DROP CONSTRAINT IF EXISTS {quote(spec.name)}"
            )
        else:
            await connection.execute(
                f"DROP INDEX IF EXISTS {quote(table.schema_name)}.{quote(spec.name)}"
            )


async def _chunks(
    generator: CatalogGenerator,
    table: str,
    *,
    executor: concurrent.futures.Executor,
    window: int,
    progress: Progress | None,
    load: TableLoad,
) -> AsyncIterator[bytes]:
    """Encoded chunks of a table in cell order, ``window`` made ahead."""
    loop = asyncio.get_running_loop()
    cells = [c for c in generator.cells if c.count]
    pending: list[tuple[int, asyncio.Future[tuple[int, bytes]]]] = []
    position = 0
    yield COPY_HEADER
    try:
        while position < len(cells) or pending:
            while position < len(cells) and len(pending) < window:
                cell = cells[position]
                future = loop.run_in_executor(
                    executor,
                    encode_chunk,
                    generator.scale,
                    generator.seed,
                    table,
                    cell.index,
                )
                pending.append((cell.count, future))
                position += 1
            objects, future = pending.pop(0)
            rows, data = await future
            load.rows += rows
            if progress is not None:
                progress(table, objects)
            yield data
    finally:
        for _, future in pending:
            future.cancel()
    yield COPY_TRAILER


def _executor(jobs: int, schema: CatalogSchema) -> concurrent.futures.Executor:
    if jobs <= 1:
        return concurrent.futures.ThreadPoolExecutor(max_workers=1)
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(schema,),
    )


async def _load_table(
    connection: asyncpg.Connection,
    generator: CatalogGenerator,
    table: CatalogTable,
    *,
    executor: concurrent.futures.Executor,
    window: int,
    progress: Progress | None,
    cluster: bool,
) -> TableLoad:
    load = TableLoad(table=table.name)
    qualified = f"{quote(table.schema_name)}.{quote(table.name)}"
    start = time.perf_counter()
    async with connection.transaction():
        await _drop_indexes(connection, table)
        if table.name in NARROW_COLUMNS:
            await drop_narrow_table(connection, table.name)
        await connection.execute(f"TRUNCATE {qualified}")
        await connection.copy_to_table(
            table.name,
            schema_name=table.schema_name,
            source=_chunks(
                generator,
                table.name,
                executor=executor,
                window=window,
                progress=progress,
                load=load,
            ),
            format="binary",
            freeze=True,
        )
    load.copy_seconds = time.perf_counter() - start

    specs = index_specs(table)
    spatial = next((s for s in specs if s.spatial), None)
    if cluster and spatial is not None and table.name in CLUSTERED_TABLES:
        # Cluster with only the spatial index built, so CLUSTER rebuilds
        # one index rather than all; a freeze age of 0 makes the rewritten
        # rows frozen, as COPY FREEZE made the loaded ones.
        start = time.perf_counter()
        await connection.execute(spatial.sql)
        load.index_seconds += time.perf_counter() - start
        start = time.perf_counter()
        await connection.execute("SET vacuum_freeze_min_age = 0")
        await connection.execute(f"CLUSTER {qualified} USING {quote(spatial.name)}")
        await connection.execute("RESET vacuum_freeze_min_age")
        load.cluster_seconds = time.perf_counter() - start
        specs = [s for s in specs if s is not spatial]

    start = time.perf_counter()
    for spec in specs:
        await connection.execute(spec.sql)
    load.index_seconds += time.perf_counter() - start

    start = time.perf_counter()
    await connection.execute(f"ANALYZE {qualified}")
    load.analyze_seconds = time.perf_counter() - start
    return load


async def load_catalogs(
    dsn: str,
    *,
    scale: int,
    seed: int,
    tables: Sequence[str] | None = None,
    jobs: int = 1,
    cluster: bool = True,
    narrow: bool = True,
    progress: Progress | None = None,
) -> LoadReport:
    """Generate and load the catalog tables (``rsp-tap load``).

    Parameters
    ----------
    dsn
        PostgreSQL URL of the database owner (after ``rsp-tap init-db``).
    scale
        Number of objects.
    seed
        Seed of the generator.
    tables
        Tables to load (default: all five), in TAP order.
    jobs
        Processes generating chunks (1: a thread of this process).
    cluster
        Whether to cluster ``object`` on its spatial index.
    narrow
        Whether to build the narrow projection of ``object`` once it is
        loaded (see :mod:`.narrow`; it is dropped either way).
    progress
        Called as chunks are sent, and as the projection's build starts.
    """
    generator = CatalogGenerator(scale, seed=seed, schema=load_catalog_schema())
    names = list(TABLE_CODES) if tables is None else list(tables)
    unknown = set(names) - set(TABLE_CODES)
    if unknown:
        raise ValueError(f"Unknown tables: {', '.join(sorted(unknown))}")
    ordered = [t for t in generator.tables if t.name in names]
    report = LoadReport(scale=scale, seed=seed)
    connection = await asyncpg.connect(dsn)
    executor = _executor(jobs, generator.schema)
    try:
        await connection.execute(
            f"SET maintenance_work_mem = '{_MAINTENANCE_WORK_MEM}'"
        )
        for table in ordered:
            assert table.schema_name == CATALOG_SCHEMA_NAME
            report.tables.append(
                await _load_table(
                    connection,
                    generator,
                    table,
                    executor=executor,
                    window=max(2, jobs + 1),
                    progress=progress,
                    cluster=cluster,
                )
            )
            if narrow and table.name in NARROW_COLUMNS:
                build = await build_narrow_table(
                    connection, table, cluster=cluster, progress=progress
                )
                report.tables.append(build)
    finally:
        executor.shutdown(cancel_futures=True)
        await connection.close()
    return report
