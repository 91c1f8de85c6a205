"""Translation of ADQL expressions and conditions to PostgreSQL.

Each node becomes an :class:`Emitted`. Numbers are written back from their
parsed value; strings become parameters (placeholders resolved to ``$n`` at
the end); names come from the scope; functions from the allowlists.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models.schema import CatalogColumn, VOTableDatatype
from . import nodes as n
from .emitted import Emitted, Kind, kind_of, meta
from .errors import AdqlReferenceError, AdqlSyntaxError, AdqlUnsupportedError
from .functions import AGGREGATES, FUNCTION_NAMES, call_function
from .geometry import (
    CONSTRUCTORS,
    GEOMETRY_FUNCTIONS,
    call_geometry,
    strip_coordsys,
)
from .grouping import has_aggregate
from .operands import (
    arithmetic,
    as_text,
    beside,
    check_comparable,
    describe,
    within_distance,
)
from .scope import Catalog, Scope

__all__ = ["ExpressionTranslator", "Output", "QueryOutput"]

_CHAR = VOTableDatatype.char
_CAST_TARGETS: dict[str, tuple[str, VOTableDatatype]] = {
    "SMALLINT": ("smallint", VOTableDatatype.short),
    "INTEGER": ("integer", VOTableDatatype.int),
    "INT": ("integer", VOTableDatatype.int),
    "BIGINT": ("bigint", VOTableDatatype.long),
    "REAL": ("real", VOTableDatatype.float),
    "DOUBLE PRECISION": ("double precision", VOTableDatatype.double),
    "CHAR": ("char", _CHAR),
    "VARCHAR": ("varchar", _CHAR),
    "TIMESTAMP": ("timestamp", _CHAR),
}


@dataclass(frozen=True, slots=True)
class Output:
    """One column a query yields."""

    name: str
    """Name in the result (alias, schema spelling, or a generated one)."""

    sql_name: str
    """Name the SQL gives it (safe: a schema spelling or ``cN``)."""

    column: CatalogColumn
    """Its metadata, ``name`` set to :attr:`name`."""

    value: Emitted
    delimited: bool = False


@dataclass(frozen=True, slots=True)
class QueryOutput:
    """A translated query and its result columns."""

    sql: str
    outputs: tuple[Output, ...]
    limit: int | None = None


class ExpressionTranslator(ABC):
    """Translates expressions; subclasses add queries (for subqueries)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.params: list[object] = []
        self._dispatch: dict[type, Callable[[Any, Scope], Emitted]] = {
            n.Literal: self._literal,
            n.ColumnRef: self._column,
            n.FunctionCall: self._function,
            n.Unary: self._unary,
            n.Binary: self._binary,
            n.Logical: self._logical,
            n.Not: self._not,
            n.Between: self._between,
            n.InList: self._in_list,
            n.InSubquery: self._in_subquery,
            n.Like: self._like,
            n.IsNull: self._is_null,
            n.Exists: self._exists,
            n.ScalarSubquery: self._scalar_subquery,
            n.Case: self._case,
            n.Cast: self._cast,
        }

    @abstractmethod
    def query(self, query: n.Query, parent: Scope | None) -> QueryOutput:
        """Translate a (sub)query."""

    def param(self, value: object) -> str:
        """Placeholder for a parameter; numbered ``$n`` when the SQL is final."""
        self.params.append(value)
        return f"\x00{len(self.params) - 1}\x00"

    def expr(self, node: n.Expr, scope: Scope) -> Emitted:
        """Translate one expression."""
        return self._dispatch[type(node)](node, scope)

    def condition(self, node: n.Expr, scope: Scope) -> str:
        """Translate an expression that must be true or false."""
        return self._condition_sql(self.expr(node, scope), node)

    @staticmethod
    def _condition_sql(value: Emitted, node: n.Expr) -> str:
        if value.predicate is not None:
            return value.predicate
        if value.kind in {Kind.boolean, Kind.null}:
            return value.sql
        raise AdqlSyntaxError(
            f"{describe(node)} is not a condition: compare it with something"
        )

    # --------------------------------------------------------------- values

    def _literal(self, node: n.Literal, _scope: Scope) -> Emitted:
        value = node.value
        if value is None:
            return Emitted(
                "NULL",
                Kind.null,
                meta(_CHAR, arraysize="*"),
                is_constant=True,
                fixed=True,
            )
        if isinstance(value, bool):
            sql = "TRUE" if value else "FALSE"
            column = meta(VOTableDatatype.boolean)
            return Emitted(
                sql,
                Kind.boolean,
                column,
                True,
                constant=value,
                is_constant=True,
                fixed=True,
            )
        if isinstance(value, int):
            return Emitted(
                str(value),
                Kind.number,
                meta(VOTableDatatype.long),
                constant=value,
                is_constant=True,
                fixed=True,
                number=value,
            )
        if isinstance(value, float):
            return Emitted(
                repr(value),
                Kind.number,
                meta(VOTableDatatype.double),
                constant=value,
                is_constant=True,
                fixed=True,
                number=value,
            )
        return Emitted(
            self.param(value),
            Kind.string,
            meta(_CHAR, arraysize="*"),
            constant=value,
            is_constant=True,
            fixed=True,
        )

    def _column(self, node: n.ColumnRef, scope: Scope) -> Emitted:
        found = scope.resolve(node)
        column = found.column
        return Emitted(
            found.sql,
            kind_of(column),
            column,
            exact=True,
            source=column,
            geometry=column.xtype if kind_of(column) == Kind.geometry else None,
        )

    def _function(self, node: n.FunctionCall, scope: Scope) -> Emitted:
        name = node.name.name.upper()
        if name in GEOMETRY_FUNCTIONS and not node.name.delimited:
            if name in CONSTRUCTORS:
                node = strip_coordsys(node)
            args = [self.expr(a, scope) for a in node.args]
            return call_geometry(node, args, self.param)
        if name not in FUNCTION_NAMES or node.name.delimited:
            raise AdqlReferenceError(
                f"Function {node.name} does not exist",
                line=node.name.line,
                column=node.name.column,
            )
        if name in AGGREGATES and any(has_aggregate(a) for a in node.args):
            raise AdqlSyntaxError(
                f"{name} cannot take another aggregate function;"
                " use a subquery in FROM",
                line=node.name.line,
                column=node.name.column,
            )
        return call_function(node, [self.expr(a, scope) for a in node.args])

    def _unary(self, node: n.Unary, scope: Scope) -> Emitted:
        value = self.expr(node.operand, scope)
        if value.kind not in {Kind.number, Kind.null}:
            raise AdqlSyntaxError(f"{node.op} applies to numbers only")
        if node.op == "~":
            if not value.is_integer:
                raise AdqlSyntaxError("~ applies to whole numbers only")
            return Emitted(
                f"~{value.operand()}", Kind.number, value.column, compound=True
            )
        if node.op == "+":
            return value
        column = meta(value.column.datatype, unit=value.column.unit)
        sql = f"-{value.operand()}"
        number = None if value.number is None else -value.number
        return Emitted(
            sql, Kind.number, column, compound=True, fixed=value.fixed, number=number
        )

    def _binary(self, node: n.Binary, scope: Scope) -> Emitted:
        left, right = self.expr(node.left, scope), self.expr(node.right, scope)
        op = node.op
        if op in {"=", "<>", "<", ">", "<=", ">="}:
            return self._comparison(op, left, right, node)
        if op == "||":
            for side in (left, right):
                if side.kind == Kind.geometry:
                    raise AdqlSyntaxError("|| joins strings, not geometries")
            sql = f"{as_text(left)} || {as_text(right)}"
            return Emitted(sql, Kind.string, meta(_CHAR, arraysize="*"), compound=True)
        for side in (left, right):
            if side.kind not in {Kind.number, Kind.null}:
                raise AdqlSyntaxError(
                    f"{op} applies to numbers; {describe(node)} mixes in"
                    f" a {side.kind.value}"
                )
        integral = left.is_integer and right.is_integer
        if op in {"&", "|", "^"}:
            if not integral:
                raise AdqlSyntaxError(f"{op} applies to whole numbers only")
            op = "#" if op == "^" else op
        unit = None
        if op in {"+", "-"} and left.column.unit == right.column.unit:
            unit = left.column.unit
        datatype = VOTableDatatype.long if integral else VOTableDatatype.double
        sql = f"{left.operand()} {op} {right.operand()}"
        fixed = left.fixed and right.fixed
        column = meta(datatype, unit=unit)
        return Emitted(
            sql,
            Kind.number,
            column,
            compound=True,
            fixed=fixed,
            number=arithmetic(op, left.number, right.number, integral=integral),
        )

    def _comparison(
        self, op: str, left: Emitted, right: Emitted, node: n.Binary
    ) -> Emitted:
        boolean = meta(VOTableDatatype.boolean)
        for predicate, other in ((left, right), (right, left)):
            if (
                predicate.predicate is not None
                and other.is_constant
                and other.constant in {0, 1}
                and op in {"=", "<>"}
            ):
                truth = (other.constant == 1) == (op == "=")
                condition = predicate.predicate
                sql = condition if truth else f"NOT ({condition})"
                return Emitted(sql, Kind.boolean, boolean, True, compound=True)
        for flag, other in ((left, right), (right, left)):
            if (
                flag.kind == Kind.boolean
                and not flag.is_constant
                and other.is_constant
                and other.kind == Kind.number
                and other.constant in {0, 1}
            ):
                literal = "TRUE" if other.constant == 1 else "FALSE"
                sql = f"{flag.operand()} {op} {literal}"
                return Emitted(sql, Kind.boolean, boolean, True, compound=True)
        check_comparable(left, right, node)
        within = within_distance(op, left, right)
        if within is not None:
            return Emitted(within, Kind.boolean, boolean, True, compound=True)
        sql = f"{beside(left, right)} {op} {beside(right, left)}"
        return Emitted(sql, Kind.boolean, boolean, True, compound=True)

    # ----------------------------------------------------------- conditions

    def _logical(self, node: n.Logical, scope: Scope) -> Emitted:
        parts = []
        for operand in node.operands:
            value = self.expr(operand, scope)
            sql = self._condition_sql(value, operand)
            # Only OR inside AND needs parentheses; BETWEEN's AND gets them
            # for the reader. Everything else binds tighter than AND and OR.
            nested = isinstance(operand, (n.Logical, n.Between))
            parts.append(f"({sql})" if nested else sql)
        sql = f" {node.op} ".join(parts)
        return Emitted(
            sql, Kind.boolean, meta(VOTableDatatype.boolean), True, compound=True
        )

    def _not(self, node: n.Not, scope: Scope) -> Emitted:
        sql = self.condition(node.operand, scope)
        return Emitted(
            f"NOT ({sql})",
            Kind.boolean,
            meta(VOTableDatatype.boolean),
            True,
            compound=True,
        )

    def _between(self, node: n.Between, scope: Scope) -> Emitted:
        value = self.expr(node.operand, scope)
        low, high = self.expr(node.low, scope), self.expr(node.high, scope)
        check_comparable(value, low, node)
        check_comparable(value, high, node)
        keyword = "NOT BETWEEN" if node.negated else "BETWEEN"
        sql = (
            f"{beside(value, low)} {keyword} {beside(low, value)}"
            f" AND {beside(high, value)}"
        )
        return Emitted(
            sql, Kind.boolean, meta(VOTableDatatype.boolean), True, compound=True
        )

    def _in_list(self, node: n.InList, scope: Scope) -> Emitted:
        value = self.expr(node.operand, scope)
        items = [self.expr(item, scope) for item in node.items]
        for item in items:
            check_comparable(value, item, node)
        keyword = "NOT IN" if node.negated else "IN"
        listed = ", ".join(beside(item, value) for item in items)
        sql = f"{beside(value, items[0])} {keyword} ({listed})"
        return Emitted(
            sql, Kind.boolean, meta(VOTableDatatype.boolean), True, compound=True
        )

    def _in_subquery(self, node: n.InSubquery, scope: Scope) -> Emitted:
        value = self.expr(node.operand, scope)
        sub = self._one_column(node.query, scope, "IN")
        check_comparable(value, sub.outputs[0].value, node)
        keyword = "NOT IN" if node.negated else "IN"
        sql = f"{as_text(value)} {keyword} ({sub.sql})"
        return Emitted(
            sql, Kind.boolean, meta(VOTableDatatype.boolean), True, compound=True
        )

    def _like(self, node: n.Like, scope: Scope) -> Emitted:
        value, pattern = self.expr(node.operand, scope), self.expr(node.pattern, scope)
        for side in (value, pattern):
            if side.kind not in {Kind.string, Kind.null}:
                raise AdqlSyntaxError("LIKE and ILIKE compare strings")
        keyword = "ILIKE" if node.case_insensitive else "LIKE"
        if node.negated:
            keyword = f"NOT {keyword}"
        sql = f"{beside(value, pattern)} {keyword} {beside(pattern, value)}"
        return Emitted(
            sql, Kind.boolean, meta(VOTableDatatype.boolean), True, compound=True
        )

    def _is_null(self, node: n.IsNull, scope: Scope) -> Emitted:
        value = self.expr(node.operand, scope)
        keyword = "IS NOT NULL" if node.negated else "IS NULL"
        sql = f"{as_text(value) if value.is_parameter else value.operand()} {keyword}"
        return Emitted(
            sql, Kind.boolean, meta(VOTableDatatype.boolean), True, compound=True
        )

    def _exists(self, node: n.Exists, scope: Scope) -> Emitted:
        sub = self.query(node.query, scope)
        return Emitted(
            f"EXISTS ({sub.sql})", Kind.boolean, meta(VOTableDatatype.boolean), True
        )

    def _scalar_subquery(self, node: n.ScalarSubquery, scope: Scope) -> Emitted:
        sub = self._one_column(node.query, scope, "A subquery used as a value")
        value = sub.outputs[0].value
        column = sub.outputs[0].column
        return Emitted(
            f"({sub.sql})",
            value.kind,
            column,
            exact=True,
            geometry=value.geometry,
        )

    def _one_column(self, query: n.Query, scope: Scope, what: str) -> QueryOutput:
        sub = self.query(query, scope)
        if len(sub.outputs) != 1:
            raise AdqlSyntaxError(
                f"{what} needs a subquery selecting one column, not {len(sub.outputs)}"
            )
        return sub

    def _case(self, node: n.Case, scope: Scope) -> Emitted:
        parts = ["CASE"]
        subject = self.expr(node.operand, scope) if node.operand is not None else None
        if subject is not None:
            parts.append(as_text(subject))
        results: list[Emitted] = []
        for when, then in node.whens:
            if subject is None:
                condition = self.condition(when, scope)
            else:
                match = self.expr(when, scope)
                check_comparable(subject, match, node)
                condition = beside(match, subject)
            result = self.expr(then, scope)
            results.append(result)
            parts.append(f"WHEN {condition} THEN {as_text(result)}")
        if node.otherwise is not None:
            otherwise = self.expr(node.otherwise, scope)
            results.append(otherwise)
            parts.append(f"ELSE {as_text(otherwise)}")
        parts.append("END")
        typed = [r for r in results if r.kind != Kind.null]
        if len({r.kind for r in typed}) > 1:
            raise AdqlSyntaxError("The results of a CASE must all be of one kind")
        first = typed[0] if typed else results[0]
        column = first.column
        if first.kind == Kind.number and not all(r.is_integer for r in typed):
            column = meta(VOTableDatatype.double, unit=column.unit)
        return Emitted(" ".join(parts), first.kind, column, geometry=first.geometry)

    def _cast(self, node: n.Cast, scope: Scope) -> Emitted:
        value = self.expr(node.operand, scope)
        target = _CAST_TARGETS.get(node.target)
        if target is None:
            raise AdqlUnsupportedError(
                f"CAST to {node.target} is not supported; use one of"
                f" {', '.join(sorted(_CAST_TARGETS))}"
            )
        sql_name, datatype = target
        if value.kind == Kind.geometry:
            raise AdqlUnsupportedError("Geometries cannot be cast")
        if node.length is not None and datatype != _CHAR:
            raise AdqlSyntaxError(f"{node.target} takes no length")
        if node.length == 0:
            raise AdqlSyntaxError("A string length must be at least 1")
        if node.target == "TIMESTAMP":
            column = meta(_CHAR, arraysize="*", xtype="timestamp")
            kind = Kind.timestamp
        elif datatype == _CHAR:
            if node.length is None:
                arraysize = "*" if node.target == "VARCHAR" else "1"
            else:
                suffix = "*" if node.target == "VARCHAR" else ""
                arraysize = f"{node.length}{suffix}"
                sql_name = f"{sql_name}({node.length})"
            column = meta(_CHAR, arraysize=arraysize)
            kind = Kind.string
        else:
            column = meta(datatype, unit=value.column.unit)
            kind = Kind.number
        return Emitted(
            f"CAST({as_text(value)} AS {sql_name})", kind, column, exact=True
        )
