"""Which tables and columns a query can name, and what SQL stands for them.

Only the schemas ``dp01_dc2_catalogs``, ``TAP_SCHEMA`` and ``TAP_UPLOAD``
resolve. A table becomes its schema-qualified name spelled as the schema
spells it, aliased with a generated name (``t1``, ``t2``...); a column
becomes ``t1."columnName"``. Nothing the user typed reaches the SQL.

A table with a narrow projection (:mod:`rsp_tap.models.narrow`) is named
once the whole query is translated: its :class:`Source` records every
column it hands out, and the projection stands for it if it holds them all.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ..models.narrow import NO_NARROW_TABLES, NarrowTable, NarrowTables
from ..models.query import UploadTable
from ..models.schema import CatalogColumn, CatalogSchema, CatalogTable
from .emitted import quote_identifier
from .errors import AdqlReferenceError, AdqlUnsupportedError
from .nodes import ColumnRef, Identifier

__all__ = [
    "QUERYABLE_SCHEMAS",
    "Catalog",
    "NarrowRouting",
    "Scope",
    "Source",
    "SourceColumn",
    "TableEntry",
]

QUERYABLE_SCHEMAS = ("dp01_dc2_catalogs", "TAP_SCHEMA", "TAP_UPLOAD")
"""Schemas a query may name; everything else in the database is out of reach."""

_UPLOAD_SCHEMA = "TAP_UPLOAD"

_TABLE_MARK = "\x01"
_TABLE_PLACEHOLDER = re.compile("\x01([0-9]+)\x01")
"""Stands for a table with a narrow projection until :meth:`NarrowRouting.route`.

No user text reaches the SQL (strings become parameters, names come from
the schema), and the lexer refuses control characters outside strings."""


@dataclass(frozen=True, slots=True)
class TableEntry:
    """A queryable table and the SQL that names it."""

    table: CatalogTable
    sql: str
    narrow: NarrowTable | None = None
    """Its narrow projection, if the database has one."""


def _upload_sql(table: CatalogTable) -> str:
    return "pg_temp." + quote_identifier(f"tap_upload_{table.name}")


_SCHEMA_ENTRIES: dict[int, tuple[CatalogSchema, list[TableEntry]]] = {}


def _schema_entries(schema: CatalogSchema) -> list[TableEntry]:
    """Queryable tables of a schema, computed once per schema object."""
    cached = _SCHEMA_ENTRIES.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    allowed = {name.lower() for name in QUERYABLE_SCHEMAS}
    entries = [
        TableEntry(
            table,
            quote_identifier(table.schema_name) + "." + quote_identifier(table.name),
        )
        for table in schema.tables
        if table.schema_name.lower() in allowed
        and table.schema_name.lower() != _UPLOAD_SCHEMA.lower()
    ]
    if len(_SCHEMA_ENTRIES) > 16:
        _SCHEMA_ENTRIES.clear()
    _SCHEMA_ENTRIES[id(schema)] = (schema, entries)
    return entries


class Catalog:
    """The tables one translation can reach: the schema's plus the uploads."""

    def __init__(
        self,
        schema: CatalogSchema,
        uploads: Sequence[UploadTable],
        narrow: NarrowTables = NO_NARROW_TABLES,
    ) -> None:
        self.entries = _schema_entries(schema)
        if narrow:
            self.entries = [
                replace(e, narrow=narrow.find(e.table.schema_name, e.table.name))
                for e in self.entries
            ]
        if uploads:
            self.entries = [
                *self.entries,
                *(TableEntry(u.table, _upload_sql(u.table)) for u in uploads),
            ]
        self.schema_names = sorted(
            {e.table.schema_name for e in self.entries} | {_UPLOAD_SCHEMA},
            key=str.lower,
        )

    def find(self, parts: tuple[Identifier, ...]) -> TableEntry:
        """Resolve ``[schema.]table`` as written in FROM."""
        name = parts[-1]
        if len(parts) > 2:
            raise AdqlUnsupportedError(
                f"Catalog names are not used here: write schema.table, not"
                f" {'.'.join(str(p) for p in parts)}",
                line=parts[0].line,
                column=parts[0].column,
            )
        candidates = [e for e in self.entries if name.matches(e.table.name)]
        if len(parts) == 2:
            schema = parts[0]
            if not any(schema.matches(s) for s in self.schema_names):
                raise AdqlReferenceError(
                    f"Schema {schema} cannot be queried; the schemas are"
                    f" {', '.join(self.schema_names)}",
                    line=schema.line,
                    column=schema.column,
                )
            candidates = [e for e in candidates if schema.matches(e.table.schema_name)]
        if len(candidates) == 1:
            return candidates[0]
        written = ".".join(str(p) for p in parts)
        if not candidates:
            hint = _suggest(
                str(name.name), (e.table.qualified_name for e in self.entries)
            )
            raise AdqlReferenceError(
                f"Table {written} does not exist{hint}; TAP_SCHEMA.tables lists"
                " the tables",
                line=name.line,
                column=name.column,
            )
        options = " or ".join(e.table.qualified_name for e in candidates)
        raise AdqlReferenceError(
            f"Table {written} is ambiguous: write {options}",
            line=name.line,
            column=name.column,
        )


def _suggest(name: str, options: Iterable[str]) -> str:
    choices = list(options)
    lowered = {c.lower().rsplit(".", 1)[-1]: c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
    return f" (did you mean {lowered[close[0]]}?)" if close else ""


@dataclass(frozen=True, slots=True)
class SourceColumn:
    """A column a FROM item offers to the rest of the query."""

    name: str
    """Name the query uses for it (schema spelling, or a subquery's output name)."""

    sql: str
    """SQL naming it, such as ``t1."ra"``."""

    column: CatalogColumn
    """Its metadata."""

    delimited: bool = False
    """The name came from a delimited alias (matched exactly)."""

    from_table: bool = False
    """A column of a table of the schema (its name is the schema's spelling)."""

    def matches(self, ident: Identifier) -> bool:
        """Whether a reference designates this column."""
        if self.delimited and not ident.delimited:
            return ident.name == self.name
        return ident.matches(self.name)


_COLUMN_INDEXES: dict[int, tuple[CatalogTable, dict[str, list[CatalogColumn]]]] = {}


def _column_index(table: CatalogTable) -> dict[str, list[CatalogColumn]]:
    """Columns of a table by lower-cased name, built once per table object."""
    cached = _COLUMN_INDEXES.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    index: dict[str, list[CatalogColumn]] = {}
    for column in table.columns:
        index.setdefault(column.name.lower(), []).append(column)
    if len(_COLUMN_INDEXES) > 512:
        _COLUMN_INDEXES.clear()
    _COLUMN_INDEXES[id(table)] = (table, index)
    return index


@dataclass(slots=True)
class Source:
    """One table, subquery or common table in a FROM clause."""

    alias: str
    """Generated SQL alias (``t1``)."""

    correlation: Identifier | None = None
    """The alias the query gave it, if any."""

    table: CatalogTable | None = None
    """The schema's table, for a table reference."""

    outputs: list[SourceColumn] = field(default_factory=list)
    """The columns of a subquery or common table."""

    used: set[str] | None = None
    """Names of the table's columns handed out so far (recorded only for a
    table with a narrow projection: the SQL names its table at the end)."""

    def label(self) -> str:
        """How error messages name it."""
        if self.correlation is not None:
            return str(self.correlation)
        return self.table.qualified_name if self.table else self.alias

    def _table_column(self, column: CatalogColumn) -> SourceColumn:
        # Every SQL reference to a column of the table is made here.
        if self.used is not None:
            self.used.add(column.name)
        sql = f"{self.alias}.{quote_identifier(column.name)}"
        return SourceColumn(column.name, sql, column, from_table=True)

    def find(self, ident: Identifier) -> SourceColumn | None:
        """The column an identifier designates, if this source has it."""
        if self.table is None:
            return next((c for c in self.outputs if c.matches(ident)), None)
        candidates = _column_index(self.table).get(ident.name.lower(), [])
        for column in candidates:
            if not ident.delimited or column.name == ident.name:
                return self._table_column(column)
        return None

    def columns(self) -> list[SourceColumn]:
        """All its columns, in order (for ``*``: each counts as used)."""
        if self.table is None:
            return list(self.outputs)
        return [self._table_column(c) for c in self.table.columns]

    def names(self) -> list[str]:
        """The names of its columns, in order (none counts as used)."""
        if self.table is None:
            return [c.name for c in self.outputs]
        return [c.name for c in self.table.columns]

    def answers_to(self, qualifier: tuple[Identifier, ...]) -> bool:
        """Whether ``qualifier.column`` refers to this source."""
        if self.correlation is not None:
            return len(qualifier) == 1 and qualifier[0].matches(self.correlation.name)
        if self.table is None:
            return False
        if len(qualifier) == 1:
            return qualifier[0].matches(self.table.name)
        return (
            len(qualifier) == 2
            and qualifier[0].matches(self.table.schema_name)
            and qualifier[1].matches(self.table.name)
        )


@dataclass(slots=True)
class Scope:
    """The FROM clause of one SELECT, seen from its expressions."""

    parent: Scope | None = None
    sources: list[Source] = field(default_factory=list)
    merged: list[SourceColumn] = field(default_factory=list)
    """Columns joined with USING or NATURAL, reachable without qualifier."""

    merged_names: set[str] = field(default_factory=set)

    def add(self, source: Source) -> None:
        """Add a FROM item, refusing a second one under the same name."""
        for other in self.sources:
            if source.correlation is None and other.correlation is None:
                same = other.table is source.table
            elif source.correlation is not None and other.correlation is not None:
                same = source.correlation.name.lower() == other.correlation.name.lower()
            else:
                same = False
            if same:
                raise AdqlReferenceError(
                    f"{source.label()} appears twice in FROM: give each an alias",
                    line=source.correlation.line if source.correlation else None,
                    column=source.correlation.column if source.correlation else None,
                )
        self.sources.append(source)

    def resolve(self, ref: ColumnRef) -> SourceColumn:
        """Find the column a reference designates, here or in enclosing queries."""
        scope: Scope | None = self
        while scope is not None:
            found = scope.lookup_local(ref)
            if found is not None:
                return found
            scope = scope.parent
        raise self._missing(ref)

    def lookup_local(self, ref: ColumnRef) -> SourceColumn | None:
        """The column a reference designates in this scope only, if any."""
        name = ref.parts[-1]
        qualifier = ref.parts[:-1]
        if len(qualifier) > 2:
            raise AdqlUnsupportedError(
                "Catalog names are not used here: write schema.table.column",
                line=ref.parts[0].line,
                column=ref.parts[0].column,
            )
        if qualifier:
            sources = [s for s in self.sources if s.answers_to(qualifier)]
            if len(sources) > 1:
                raise AdqlReferenceError(
                    f"{'.'.join(str(q) for q in qualifier)} is ambiguous: give the"
                    " tables aliases",
                    line=qualifier[0].line,
                    column=qualifier[0].column,
                )
            if not sources:
                return None
            column = sources[0].find(name)
            if column is None:
                raise self._missing(ref, sources[0])
            return column
        merged = [c for c in self.merged if c.matches(name)]
        if merged:
            return merged[0]
        found = [(s, c) for s in self.sources if (c := s.find(name)) is not None]
        if len(found) > 1:
            tables = " and ".join(s.label() for s, _ in found)
            raise AdqlReferenceError(
                f"Column {name} is ambiguous: it is in {tables}; qualify it",
                line=name.line,
                column=name.column,
            )
        return found[0][1] if found else None

    def _missing(
        self, ref: ColumnRef, source: Source | None = None
    ) -> AdqlReferenceError:
        name = ref.parts[-1]
        sources = [source] if source else self.sources
        if ref.parts[:-1] and source is None:
            written = ".".join(str(p) for p in ref.parts[:-1])
            return AdqlReferenceError(
                f"{written} is not a table of this query (column {name})",
                line=ref.parts[0].line,
                column=ref.parts[0].column,
            )
        where = ", ".join(s.label() for s in sources) or "FROM"
        hint = _suggest(name.name, (c for s in sources for c in s.names()))
        if name.delimited and not hint and not ref.parts[:-1]:
            hint = " (strings are written in 'single quotes')"
        return AdqlReferenceError(
            f"Column {name} does not exist in {where}{hint}",
            line=name.line,
            column=name.column,
        )

    def star_columns(
        self, qualifier: tuple[Identifier, ...] | None
    ) -> list[SourceColumn]:
        """Columns of ``*`` (every source) or ``qualifier.*``."""
        if qualifier is not None:
            sources = [s for s in self.sources if s.answers_to(qualifier)]
            if not sources:
                written = ".".join(str(p) for p in qualifier)
                raise AdqlReferenceError(
                    f"{written} is not a table of this query",
                    line=qualifier[0].line,
                    column=qualifier[0].column,
                )
            return sources[0].columns()
        columns = list(self.merged)
        for source in self.sources:
            columns.extend(
                c for c in source.columns() if c.name.lower() not in self.merged_names
            )
        return columns


class NarrowRouting:
    """Names the tables that have a narrow projection once the SQL is complete."""

    def __init__(self) -> None:
        self._routed: list[tuple[Source, TableEntry]] = []

    def placeholder(self, source: Source, entry: TableEntry) -> str:
        """What stands for the table of ``source`` in the SQL until :meth:`route`."""
        self._routed.append((source, entry))
        return f"{_TABLE_MARK}{len(self._routed) - 1}{_TABLE_MARK}"

    def route(self, sql: str) -> str:
        """Name each table that has a narrow projection in the finished SQL.

        The projection stands for a table instance when it holds every
        column the query took from that instance, the table itself
        otherwise.
        """
        if not self._routed:
            return sql

        def name(match: re.Match[str]) -> str:
            source, entry = self._routed[int(match.group(1))]
            narrow = entry.narrow
            used = source.used
            if narrow is not None and used is not None and used <= narrow.columns:
                return narrow.sql
            return entry.sql

        routed = _TABLE_PLACEHOLDER.sub(name, sql)
        if _TABLE_MARK in routed:
            raise RuntimeError("A table placeholder is left in the SQL")
        return routed
