"""The catalog schema, read from the official Felis descriptions.

The DP0.1 catalogs are described by ``lsst/sdm/schemas/archive/dp01_dc2.yaml``
(package ``lsst-sdm-schemas``) and TAP_SCHEMA itself by the standard Felis
description shipped with ``lsst-felis``. Both are validated with Felis'
pydantic ``Schema`` model and turned into one :class:`CatalogSchema`: what the
ADQL translator resolves names against, what TAP_SCHEMA rows and VOSI
``/tables`` are generated from, and what result metadata comes from.

Physical names in PostgreSQL are exactly the names kept here, double-quoted:
schema ``"dp01_dc2_catalogs"`` and ``"TAP_SCHEMA"``, tables ``"object"``,
columns ``"objectId"``. Column order in each table is the TAP order
(``tap:column_index``, then the order of the file), and it is also the
physical column order, so ``SELECT *`` lists columns as TAP_SCHEMA does.

The DP0.1 file declares no keys or indexes; :data:`TABLE_LAYOUTS` says which
columns the loader indexes (so TAP_SCHEMA ``indexed`` tells the truth) and
:data:`CATALOG_KEYS` which joins are meaningful.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
from typing import TYPE_CHECKING, Any

import yaml

from ..models.schema import (
    CatalogColumn,
    CatalogKey,
    CatalogSchema,
    CatalogTable,
    VOTableDatatype,
)

if TYPE_CHECKING:
    from felis.datamodel import Column, Schema, Table

# Felis itself is imported where it is used: it pulls in SQLAlchemy and
# astropy (seconds), which processes that only need the names here (the
# loader's chunk workers) do without.

__all__ = [
    "CATALOG_KEYS",
    "CATALOG_SCHEMA_NAME",
    "NARROW_SCHEMA_NAME",
    "SCHEMA_RESOURCE",
    "TABLE_LAYOUTS",
    "TAP_SCHEMA_NAME",
    "UPLOAD_SCHEMA_NAME",
    "TableLayout",
    "catalog_tables",
    "load_catalog_schema",
    "load_felis_schema",
    "tap_schema_tables",
]

CATALOG_SCHEMA_NAME = "dp01_dc2_catalogs"
"""Schema of the DP0.1 catalogs (ADQL and PostgreSQL)."""

NARROW_SCHEMA_NAME = "dp01_dc2_catalogs_narrow"
"""Schema of the narrow projections of catalog tables (see ``data.narrow``):
neither in TAP_SCHEMA nor nameable in ADQL."""

TAP_SCHEMA_NAME = "TAP_SCHEMA"
"""Schema describing the tables, as TAP 1.1 names it."""

UPLOAD_SCHEMA_NAME = "TAP_UPLOAD"
"""Schema ADQL uses for uploaded tables."""

SCHEMA_RESOURCE = ("lsst.sdm.schemas", "archive/dp01_dc2.yaml")
"""Package and path of the DP0.1 Felis file."""

_TAP_SCHEMA_DESCRIPTION = (
    "Description of the schemas, tables, columns and keys of this TAP service"
    " (IVOA TAP 1.1)."
)

_TAP_SCHEMA_COLUMN_DESCRIPTIONS = {
    (
        "key_columns",
        "key_id",
    ): "the key this column pair belongs to (TAP_SCHEMA.keys.key_id)",
    ("key_columns", "from_column"): "the column of the key in the referring table",
    ("key_columns", "target_column"): "the column of the key in the referred table",
}
"""Descriptions the Felis TAP_SCHEMA file leaves out."""

_SECONDARY_INDEX = 999
"""What Felis files use as ``tap:column_index`` for non-principal columns."""


@dataclasses.dataclass(frozen=True, slots=True)
class TableLayout:
    """How a catalog table is laid out and indexed in PostgreSQL."""

    position: tuple[str, str] | None
    """RA and Dec columns (degrees) of the spatial index, if any."""

    primary_key: tuple[str, ...] = ()
    """Columns of the primary key (unique btree index)."""

    indexed: tuple[str, ...] = ()
    """Further columns with a btree index (join keys)."""

    @property
    def indexed_columns(self) -> frozenset[str]:
        """Every column a query can constrain through an index."""
        return (
            frozenset(self.primary_key)
            | frozenset(self.indexed)
            | frozenset(self.position or ())
        )


TABLE_LAYOUTS: dict[str, TableLayout] = {
    "object": TableLayout(
        position=("ra", "dec"), primary_key=("objectId",), indexed=("parentObjectId",)
    ),
    "truth_match": TableLayout(
        position=("ra", "dec"), indexed=("match_objectId", "id")
    ),
    "position": TableLayout(
        position=("coord_ra", "coord_dec"), primary_key=("objectId",)
    ),
    "reference": TableLayout(
        position=("coord_ra", "coord_dec"), primary_key=("objectId",)
    ),
    "forced_photometry": TableLayout(
        position=("coord_ra", "coord_dec"), primary_key=("objectId",)
    ),
}
"""Indexes the loader builds, by catalog table name."""

CATALOG_KEYS: tuple[CatalogKey, ...] = tuple(
    CatalogKey(
        key_id=f"{table}_{column}",
        from_table=f"{CATALOG_SCHEMA_NAME}.{table}",
        target_table=f"{CATALOG_SCHEMA_NAME}.object",
        columns=((column, "objectId"),),
        description=description,
    )
    for table, column, description in (
        ("position", "objectId", "The object whose astrometry this row holds"),
        (
            "reference",
            "objectId",
            "The object whose reference-band measurements this row holds",
        ),
        (
            "forced_photometry",
            "objectId",
            "The object whose forced photometry this row holds",
        ),
        ("truth_match", "match_objectId", "The object this truth entry was matched to"),
    )
)
"""Meaningful joins between the catalog tables."""


def load_felis_schema() -> Schema[Any]:
    """Read and validate the DP0.1 Felis file from the installed package."""
    from felis.datamodel import Schema  # noqa: PLC0415 (slow import)

    package, path = SCHEMA_RESOURCE
    text = importlib.resources.files(package).joinpath(path).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    return Schema.model_validate(data)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def _convert_column(
    column: Column,
    index: int,
    *,
    indexed: bool,
    std: bool,
    principal: bool | None = None,
) -> CatalogColumn:
    from felis.types import FelisType  # noqa: PLC0415 (slow import)

    felis_type = FelisType.felis_type(str(column.datatype))
    datatype = VOTableDatatype(column.votable_datatype or felis_type.votable_name)
    arraysize = column.votable_arraysize
    return CatalogColumn(
        name=column.name,
        datatype=datatype,
        arraysize=str(arraysize) if arraysize is not None else None,
        xtype=column.votable_xtype,
        unit=_text(column.ivoa_unit) or _text(column.fits_tunit),
        ucd=_text(column.ivoa_ucd),
        description=_text(column.description),
        utype=column.votable_utype,
        principal=bool(column.tap_principal) if principal is None else principal,
        indexed=indexed,
        std=std,
        nullable=column.nullable,
        column_index=index,
    )


def _describe(column: CatalogColumn, description: str | None) -> CatalogColumn:
    if column.description or not description:
        return column
    return dataclasses.replace(column, description=description)


def _ordered_columns(table: Table) -> list[Column]:
    order = {id(c): i for i, c in enumerate(table.columns)}
    return sorted(
        table.columns,
        key=lambda c: (
            c.tap_column_index if c.tap_column_index is not None else _SECONDARY_INDEX,
            order[id(c)],
        ),
    )


def catalog_tables(schema: Schema[Any]) -> tuple[CatalogTable, ...]:
    """Convert the DP0.1 Felis tables, in ``tap:table_index`` order."""
    tables: list[CatalogTable] = []
    ordered = sorted(
        enumerate(schema.tables),
        key=lambda item: (
            item[1].tap_table_index if item[1].tap_table_index is not None else 10_000,
            item[0],
        ),
    )
    for table_index, (_, table) in enumerate(ordered, start=1):
        layout = TABLE_LAYOUTS.get(table.name, TableLayout(position=None))
        indexed = layout.indexed_columns
        columns = tuple(
            _convert_column(c, i, indexed=c.name in indexed, std=bool(c.tap_std))
            for i, c in enumerate(_ordered_columns(table), start=1)
        )
        tables.append(
            CatalogTable(
                schema_name=CATALOG_SCHEMA_NAME,
                name=table.name,
                description=_text(table.description),
                table_index=table_index,
                columns=columns,
                primary_key=layout.primary_key,
            )
        )
    return tuple(tables)


def _column_ids(schema: Schema[Any]) -> dict[str, tuple[Table, Column]]:
    return {c.id: (t, c) for t in schema.tables for c in t.columns}


def _primary_key(table: Table, ids: dict[str, tuple[Table, Column]]) -> tuple[str, ...]:
    key = table.primary_key
    if key is None:
        return ()
    refs = [key] if isinstance(key, str) else list(key)
    return tuple(ids[ref][1].name for ref in refs)


def tap_schema_tables() -> tuple[tuple[CatalogTable, ...], tuple[CatalogKey, ...]]:
    """Convert Felis' standard TAP_SCHEMA description (TAP 1.1 columns).

    Every TAP_SCHEMA column is standard and principal; columns the file
    leaves without an index are numbered in file order.
    """
    from felis.datamodel import ForeignKeyConstraint  # noqa: PLC0415 (slow import)
    from felis.tap_schema import TableManager  # noqa: PLC0415 (slow import)

    schema = TableManager.load_schema_resource()
    ids = _column_ids(schema)
    tables: list[CatalogTable] = []
    keys: list[CatalogKey] = []
    for position, table in enumerate(schema.tables):
        primary_key = _primary_key(table, ids)
        columns = tuple(
            _describe(
                _convert_column(
                    c, i, indexed=c.name in primary_key, std=True, principal=True
                ),
                _TAP_SCHEMA_COLUMN_DESCRIPTIONS.get((table.name, c.name)),
            )
            for i, c in enumerate(_ordered_columns(table), start=1)
        )
        tables.append(
            CatalogTable(
                schema_name=TAP_SCHEMA_NAME,
                name=table.name,
                description=_text(table.description),
                table_index=table.tap_table_index or 100_000 + 1000 * position,
                columns=columns,
                primary_key=primary_key,
            )
        )
        for constraint in table.constraints:
            if not isinstance(constraint, ForeignKeyConstraint):
                continue
            pairs = tuple(
                (ids[source][1].name, ids[target][1].name)
                for source, target in zip(
                    constraint.columns, constraint.referenced_columns, strict=True
                )
            )
            target_table = ids[constraint.referenced_columns[0]][0].name
            keys.append(
                CatalogKey(
                    key_id=f"TAP_SCHEMA_{constraint.name}",
                    from_table=f"{TAP_SCHEMA_NAME}.{table.name}",
                    target_table=f"{TAP_SCHEMA_NAME}.{target_table}",
                    columns=pairs,
                    description=_text(constraint.description),
                )
            )
    return tuple(tables), tuple(keys)


@functools.cache
def load_catalog_schema() -> CatalogSchema:
    """The DP0.1 catalogs plus TAP_SCHEMA, read once per process.

    Tables come catalogs first (``object``, ``truth_match``, ``position``,
    ``reference``, ``forced_photometry``), then the TAP_SCHEMA tables
    (``schemas``, ``tables``, ``columns``, ``keys``, ``key_columns``).
    """
    felis_schema = load_felis_schema()
    tap_tables, tap_keys = tap_schema_tables()
    return CatalogSchema(
        tables=catalog_tables(felis_schema) + tap_tables,
        descriptions={
            CATALOG_SCHEMA_NAME: _text(felis_schema.description) or CATALOG_SCHEMA_NAME,
            TAP_SCHEMA_NAME: _TAP_SCHEMA_DESCRIPTION,
        },
        keys=CATALOG_KEYS + tap_keys,
    )
