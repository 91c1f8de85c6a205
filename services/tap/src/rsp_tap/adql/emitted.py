"""SQL fragments with what the translator knows about their values.

Each expression of the query becomes an :class:`Emitted`: the SQL text (made
only of schema names, generated aliases, our own keywords and ``$n``
parameters), the kind of value it yields, and the VOTable metadata a result
column made of it would carry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache

from ..models.schema import CatalogColumn, VOTableDatatype

__all__ = [
    "INTEGER_TYPES",
    "Emitted",
    "Kind",
    "kind_of",
    "meta",
    "quote_identifier",
    "sql_type",
]


class Kind(Enum):
    """What sort of value an expression yields."""

    number = "number"
    string = "string"
    boolean = "boolean"
    timestamp = "timestamp"
    geometry = "geometry"
    null = "null"
    other = "other"


INTEGER_TYPES = frozenset(
    {
        VOTableDatatype.unsignedByte,
        VOTableDatatype.short,
        VOTableDatatype.int,
        VOTableDatatype.long,
    }
)
_FLOAT_TYPES = frozenset({VOTableDatatype.float, VOTableDatatype.double})
_SQL_TYPES = {
    VOTableDatatype.boolean: "boolean",
    VOTableDatatype.unsignedByte: "smallint",
    VOTableDatatype.short: "smallint",
    VOTableDatatype.int: "integer",
    VOTableDatatype.long: "bigint",
    VOTableDatatype.float: "real",
    VOTableDatatype.double: "double precision",
    VOTableDatatype.char: "text",
    VOTableDatatype.unicodeChar: "text",
}


@lru_cache(maxsize=4096)
def quote_identifier(name: str) -> str:
    """Quote a name taken from the schema (never from the query text)."""
    return '"' + name.replace('"', '""') + '"'


def sql_type(datatype: VOTableDatatype) -> str:
    """PostgreSQL type that yields values of a VOTable datatype."""
    return _SQL_TYPES[datatype]


@lru_cache(maxsize=256)
def meta(
    datatype: VOTableDatatype,
    *,
    arraysize: str | None = None,
    xtype: str | None = None,
    unit: str | None = None,
    ucd: str | None = None,
) -> CatalogColumn:
    """Metadata of a computed value (its name is set when it becomes a column)."""
    return CatalogColumn(
        name="", datatype=datatype, arraysize=arraysize, xtype=xtype, unit=unit, ucd=ucd
    )


def kind_of(column: CatalogColumn) -> Kind:
    """Kind of the values of a column."""
    if column.xtype in {"point", "circle", "polygon"}:
        return Kind.geometry
    if column.xtype == "timestamp":
        return Kind.timestamp
    if column.datatype == VOTableDatatype.boolean:
        return Kind.boolean
    if column.datatype in INTEGER_TYPES or column.datatype in _FLOAT_TYPES:
        return Kind.number
    return Kind.string


@dataclass(frozen=True, slots=True)
class Emitted:
    """One translated expression."""

    sql: str
    kind: Kind
    column: CatalogColumn
    """Metadata a result column holding this value carries."""

    exact: bool = False
    """PostgreSQL yields exactly ``column.datatype`` (no cast needed in output)."""

    source: CatalogColumn | None = None
    """The table column, when the expression is a plain column reference."""

    constant: int | float | str | bool | None = None
    is_constant: bool = False
    """A literal written in the query (``constant`` holds its value)."""

    geometry: str | None = None
    """``point``, ``circle``, ``polygon`` or ``box`` for pgsphere values."""

    predicate: str | None = None
    """For CONTAINS/INTERSECTS: the SQL condition they stand for."""

    compound: bool = False
    """SQL is an operator expression that needs parentheses inside another."""

    fixed: bool = False
    """The value is the same for every row (built from literals only)."""

    number: float | None = None
    """The value of a number built from literals only, when it is known."""

    distance: tuple[str, str] | None = None
    """For DISTANCE: its two points, the one to look up in an index first."""

    @property
    def is_integer(self) -> bool:
        """Whether values are whole numbers."""
        return self.kind == Kind.number and self.column.datatype in INTEGER_TYPES

    @property
    def is_parameter(self) -> bool:
        """A string literal sent as a parameter (its type is left to PostgreSQL)."""
        return self.is_constant and isinstance(self.constant, str)

    def operand(self) -> str:
        """SQL usable as an operand of another operator."""
        return f"({self.sql})" if self.compound else self.sql

    def with_column(self, column: CatalogColumn) -> Emitted:
        """The same expression with other metadata."""
        return replace(self, column=column)
