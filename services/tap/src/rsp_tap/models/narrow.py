"""Narrow projections the database offers, as the ADQL translator uses them.

A narrow projection is a copy of a catalog table with some of its columns
(``rsp-tap load`` builds one of ``object``, see :mod:`rsp_tap.data.narrow`).
The service finds out at start-up which exist and which columns they hold
(:mod:`rsp_tap.storage.narrow`); the translator reads a table instance from
its projection when the query uses no other column of it. None known: every
query reads the tables themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NO_NARROW_TABLES", "NarrowTable", "NarrowTables"]


@dataclass(frozen=True, slots=True)
class NarrowTable:
    """The projection of one catalog table."""

    schema_name: str
    """Schema of the catalog table it copies (``dp01_dc2_catalogs``)."""

    table_name: str
    """Name of that table (``object``)."""

    sql: str
    """SQL naming the projection (quoted, schema-qualified)."""

    columns: frozenset[str]
    """Columns it holds, spelt as the catalog table spells them."""


@dataclass(frozen=True, slots=True)
class NarrowTables:
    """Every projection the database offers."""

    tables: tuple[NarrowTable, ...] = ()

    def find(self, schema_name: str, table_name: str) -> NarrowTable | None:
        """The projection of a catalog table, if there is one."""
        for table in self.tables:
            if table.schema_name == schema_name and table.table_name == table_name:
                return table
        return None

    def __bool__(self) -> bool:
        return bool(self.tables)


NO_NARROW_TABLES = NarrowTables()
"""No projection: queries read the catalog tables."""
