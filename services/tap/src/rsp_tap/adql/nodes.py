"""The parse tree of an ADQL query, as the translator walks it.

The parser builds these immutable nodes straight from the grammar; nothing in
them is SQL yet. Identifiers keep whether they were delimited, because that
decides how they are matched against the schema.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Between",
    "Binary",
    "Case",
    "Cast",
    "ColumnRef",
    "CommonTable",
    "DerivedColumn",
    "DerivedTable",
    "Exists",
    "Expr",
    "FromItem",
    "FunctionCall",
    "Identifier",
    "InList",
    "InSubquery",
    "IsNull",
    "Join",
    "Like",
    "Literal",
    "Logical",
    "Not",
    "OrderTerm",
    "QualifiedStar",
    "Query",
    "QueryBody",
    "ScalarSubquery",
    "Select",
    "SelectItem",
    "SetOperation",
    "TableRef",
    "Unary",
]


@dataclass(frozen=True, slots=True)
class Identifier:
    """A name as written: regular (case-insensitive) or delimited (exact)."""

    name: str
    delimited: bool = False
    line: int | None = None
    column: int | None = None

    def matches(self, name: str) -> bool:
        """Whether this identifier designates ``name`` under ADQL's rules."""
        if self.delimited:
            return self.name == name
        return self.name.lower() == name.lower()

    def __str__(self) -> str:
        return f'"{self.name}"' if self.delimited else self.name


# ------------------------------------------------------------------ expressions


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, string, boolean or NULL written in the query."""

    value: int | float | str | bool | None


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """``[[schema.]table.]column``: one to three qualifiers plus the column."""

    parts: tuple[Identifier, ...]


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """``name(args)``; ``star`` for ``COUNT(*)``."""

    name: Identifier
    args: tuple[Expr, ...] = ()
    distinct: bool = False
    star: bool = False


@dataclass(frozen=True, slots=True)
class Unary:
    """``-x``, ``+x`` or ``~x``."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    """An arithmetic, concatenation, bitwise or comparison operator."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Logical:
    """``AND``/``OR`` over two or more conditions."""

    op: str
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT condition``."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class Between:
    """``x [NOT] BETWEEN low AND high``."""

    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False


@dataclass(frozen=True, slots=True)
class InList:
    """``x [NOT] IN (a, b, ...)``."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class InSubquery:
    """``x [NOT] IN (SELECT ...)``."""

    operand: Expr
    query: Query
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Like:
    """``x [NOT] LIKE|ILIKE pattern``."""

    operand: Expr
    pattern: Expr
    negated: bool = False
    case_insensitive: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    """``x IS [NOT] NULL``."""

    operand: Expr
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Exists:
    """``EXISTS (SELECT ...)``."""

    query: Query


@dataclass(frozen=True, slots=True)
class ScalarSubquery:
    """``(SELECT ...)`` used as a value."""

    query: Query


@dataclass(frozen=True, slots=True)
class Case:
    """``CASE [operand] WHEN ... THEN ... [ELSE ...] END``."""

    operand: Expr | None
    whens: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr | None


@dataclass(frozen=True, slots=True)
class Cast:
    """``CAST(x AS type[(length)])``; ``target`` is upper-case, one space."""

    operand: Expr
    target: str
    length: int | None = None


type Expr = (
    Literal
    | ColumnRef
    | FunctionCall
    | Unary
    | Binary
    | Logical
    | Not
    | Between
    | InList
    | InSubquery
    | Like
    | IsNull
    | Exists
    | ScalarSubquery
    | Case
    | Cast
)


# ---------------------------------------------------------------------- queries


@dataclass(frozen=True, slots=True)
class DerivedColumn:
    """One expression of the select list, with its alias if any."""

    expr: Expr
    alias: Identifier | None = None


@dataclass(frozen=True, slots=True)
class QualifiedStar:
    """``table.*`` in the select list."""

    qualifier: tuple[Identifier, ...]


type SelectItem = DerivedColumn | QualifiedStar


@dataclass(frozen=True, slots=True)
class TableRef:
    """A named table, ``[schema.]table [AS alias]``."""

    parts: tuple[Identifier, ...]
    alias: Identifier | None = None


@dataclass(frozen=True, slots=True)
class DerivedTable:
    """``(SELECT ...) AS alias`` in FROM."""

    query: Query
    alias: Identifier


@dataclass(frozen=True, slots=True)
class Join:
    """Two FROM items joined; ``kind`` is INNER, LEFT, RIGHT, FULL or CROSS."""

    kind: str
    left: FromItem
    right: FromItem
    on: Expr | None = None
    using: tuple[Identifier, ...] = ()
    natural: bool = False


type FromItem = TableRef | DerivedTable | Join


@dataclass(frozen=True, slots=True)
class OrderTerm:
    """One ORDER BY term."""

    expr: Expr
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Select:
    """One SELECT ... FROM ... block."""

    items: tuple[SelectItem, ...] | None
    """``None`` for ``SELECT *``."""

    from_items: tuple[FromItem, ...]
    distinct: bool = False
    top: int | None = None
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    having: Expr | None = None


@dataclass(frozen=True, slots=True)
class SetOperation:
    """``left UNION|EXCEPT|INTERSECT [ALL] right``."""

    op: str
    left: QueryBody
    right: QueryBody
    all: bool = False


type QueryBody = Select | SetOperation


@dataclass(frozen=True, slots=True)
class CommonTable:
    """``name AS (SELECT ...)`` of a WITH clause."""

    name: Identifier
    query: Query


@dataclass(frozen=True, slots=True)
class Query:
    """A whole query: optional WITH, a body, ORDER BY and OFFSET."""

    body: QueryBody
    order_by: tuple[OrderTerm, ...] = ()
    offset: int | None = None
    with_tables: tuple[CommonTable, ...] = ()
