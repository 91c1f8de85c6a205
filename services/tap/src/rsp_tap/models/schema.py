"""The catalog schema as the TAP service sees it.

Built once from the official Felis description (``lsst-sdm-schemas``), this
is what the ADQL translator resolves identifiers against, what TAP_SCHEMA and
VOSI ``/tables`` are generated from, and what result metadata (VOTable FIELD,
Parquet) is taken from. Names keep the schema's spelling (``objectId``);
lookups are case-insensitive unless an ADQL identifier is delimited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "CatalogColumn",
    "CatalogKey",
    "CatalogSchema",
    "CatalogTable",
    "VOTableDatatype",
]


class VOTableDatatype(StrEnum):
    """VOTable datatypes used by the catalogs."""

    boolean = "boolean"
    unsignedByte = "unsignedByte"  # noqa: N815 (VOTable spelling)
    short = "short"
    int = "int"
    long = "long"
    char = "char"
    unicodeChar = "unicodeChar"  # noqa: N815 (VOTable spelling)
    float = "float"
    double = "double"


@dataclass(frozen=True, slots=True)
class CatalogColumn:
    """One column of a catalog table."""

    name: str
    """Name as the schema spells it (and as PostgreSQL stores it, quoted)."""

    datatype: VOTableDatatype
    arraysize: str | None = None
    """VOTable arraysize (``*``, ``16*``...), for strings and arrays."""

    xtype: str | None = None
    """DALI xtype (``timestamp``, ``point``...), if any."""

    unit: str | None = None
    ucd: str | None = None
    description: str | None = None
    utype: str | None = None
    principal: bool = False
    indexed: bool = False
    std: bool = False
    nullable: bool = True
    column_index: int = 0
    """Position in the table, for TAP_SCHEMA.columns.column_index."""


@dataclass(frozen=True, slots=True)
class CatalogTable:
    """One table of a schema."""

    schema_name: str
    name: str
    """Unqualified table name (``object``)."""

    description: str | None = None
    table_index: int = 0
    columns: tuple[CatalogColumn, ...] = ()
    primary_key: tuple[str, ...] = ()

    @property
    def qualified_name(self) -> str:
        """``schema.table`` as TAP_SCHEMA and ADQL name it."""
        return f"{self.schema_name}.{self.name}"

    def column(self, name: str, *, delimited: bool = False) -> CatalogColumn | None:
        """Find a column: exact match if ``delimited``, else case-insensitive."""
        if delimited:
            return next((c for c in self.columns if c.name == name), None)
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class CatalogKey:
    """A foreign key between two tables (a row of TAP_SCHEMA.keys).

    Tells clients which joins are meaningful (``truth_match.match_objectId``
    -> ``object.objectId``); nothing enforces it in the database.
    """

    key_id: str
    from_table: str
    """Qualified name of the table holding the reference."""

    target_table: str
    """Qualified name of the table referred to."""

    columns: tuple[tuple[str, str], ...]
    """Pairs of (from column, target column)."""

    description: str | None = None
    utype: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogSchema:
    """Every queryable table: the catalogs plus TAP_SCHEMA (and uploads per job)."""

    tables: tuple[CatalogTable, ...] = ()
    descriptions: dict[str, str] = field(default_factory=dict)
    """Description of each schema by name."""

    keys: tuple[CatalogKey, ...] = ()
    """Foreign keys between tables (TAP_SCHEMA.keys and key_columns)."""

    def table(
        self, schema: str | None, name: str, *, delimited: bool = False
    ) -> CatalogTable | None:
        """Find a table by (optional) schema and name, as ADQL would resolve it."""
        for table in self.tables:
            if delimited:
                if table.name == name and (
                    schema is None or table.schema_name == schema
                ):
                    return table
            elif table.name.lower() == name.lower() and (
                schema is None or table.schema_name.lower() == schema.lower()
            ):
                return table
        return None
