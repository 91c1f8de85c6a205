"""Deterministic synthetic rows for every column of every DP0.1 table.

``scale`` is the number of objects. The footprint (RA 50-75 deg, Dec -45 to
-25 deg) is cut into cells (:func:`~rsp_tap.data.sky.footprint_cells`); a
chunk is one table's rows for one cell, drawn from numpy Generators seeded
with ``(seed, cell)`` for what tables share and ``(seed, cell, table)`` for
the table's own measurements. Chunks are independent: they can be made in
parallel, in any order, for any subset of tables, and the same scale and
seed always give the same rows.

``object``, ``position``, ``reference`` and ``forced_photometry`` have one
row per object with the same ``objectId``; ``truth_match`` has a truth entry
for most objects (``match_objectId``) plus unmatched fainter ones.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..models.schema import CatalogSchema, CatalogTable
from .columns import ObjectMeasurements
from .felis import CATALOG_SCHEMA_NAME, load_catalog_schema
from .pgcopy import ColumnData, encode_rows
from .sky import DEFAULT_SEED, Cell, Sky, footprint_cells, make_sky
from .truth import truth_rows

__all__ = [
    "TABLE_CODES",
    "CatalogGenerator",
    "Chunk",
    "encode_chunk",
    "init_worker",
]

TABLE_CODES = {
    "object": 1,
    "truth_match": 2,
    "position": 3,
    "reference": 4,
    "forced_photometry": 5,
}
"""Each table's part of its Generator seeds (0 is the shared sky)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One table's rows for one cell, column by column in table order."""

    table: CatalogTable
    cell: Cell
    data: list[ColumnData]

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.data[0].values) if self.data else 0

    def column(self, name: str) -> ColumnData:
        """Values of a column by exact name."""
        for column, data in zip(self.table.columns, self.data, strict=True):
            if column.name == name:
                return data
        raise KeyError(name)


class CatalogGenerator:
    """Rows of the catalog tables at one scale and seed.

    Parameters
    ----------
    scale
        Number of objects.
    seed
        Seed of every Generator.
    schema
        Catalog schema (default: :func:`load_catalog_schema`).
    """

    def __init__(
        self,
        scale: int,
        *,
        seed: int = DEFAULT_SEED,
        schema: CatalogSchema | None = None,
    ) -> None:
        self.scale = scale
        self.seed = seed
        self.schema = schema or load_catalog_schema()
        self.cells = footprint_cells(scale)

    @property
    def tables(self) -> tuple[CatalogTable, ...]:
        """The catalog tables, in TAP order."""
        return tuple(
            t for t in self.schema.tables if t.schema_name == CATALOG_SCHEMA_NAME
        )

    def table(self, name: str) -> CatalogTable:
        """A catalog table by exact name."""
        table = self.schema.table(CATALOG_SCHEMA_NAME, name, delimited=True)
        if table is None or name not in TABLE_CODES:
            raise KeyError(f"No catalog table {name}")
        return table

    def sky(self, cell: Cell) -> Sky:
        """The objects of a cell."""
        return make_sky(cell, self.seed)

    def chunk(self, table_name: str, cell: Cell, sky: Sky | None = None) -> Chunk:
        """One table's rows for one cell (pass ``sky`` to reuse it across tables)."""
        table = self.table(table_name)
        sky = sky if sky is not None else self.sky(cell)
        rng = np.random.default_rng([self.seed, cell.index, TABLE_CODES[table_name]])
        if table_name == "truth_match":
            data = truth_rows(sky, rng, table.columns)
        else:
            measurements = ObjectMeasurements(sky=sky, rng=rng, table=table_name)
            data = [measurements.column(column) for column in table.columns]
        return Chunk(table=table, cell=cell, data=data)

    def chunks(self, table_name: str) -> Iterator[Chunk]:
        """Every chunk of a table, cell by cell."""
        for cell in self.cells:
            if cell.count:
                yield self.chunk(table_name, cell)


_worker_schema: dict[str, CatalogSchema] = {}
"""The schema a worker process was started with (see :func:`init_worker`)."""


def init_worker(schema: CatalogSchema) -> None:
    """Give a worker process the schema, so it never reads the Felis files."""
    _worker_schema["schema"] = schema


@functools.cache
def _generator(scale: int, seed: int) -> CatalogGenerator:
    return CatalogGenerator(scale, seed=seed, schema=_worker_schema.get("schema"))


def encode_chunk(
    scale: int, seed: int, table_name: str, cell_index: int
) -> tuple[int, bytes]:
    """Generate one chunk and encode it as binary COPY tuples.

    A plain function of plain arguments, so process pools can run it; the
    generator (and the schema) are built once per process. Returns the
    number of rows and the bytes.
    """
    generator = _generator(scale, seed)
    cell = generator.cells[cell_index]
    if not cell.count:
        return 0, b""
    chunk = generator.chunk(table_name, cell)
    return chunk.rows, encode_rows(chunk.table.columns, chunk.data)
