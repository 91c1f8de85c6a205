"""Parse ADQL text into the nodes of :mod:`rsp_tap.adql.nodes`.

The grammar (``adql.lark``) is compiled once per process into an LALR(1)
parser whose callbacks build the nodes directly while parsing, so no
intermediate tree is made. Every way the text can fail to parse becomes an
:class:`AdqlSyntaxError` with the position and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from lark import Lark, Token, Transformer

from . import nodes as n
from .errors import AdqlSyntaxError
from .lalr import LalrDriver, UnexpectedInput
from .lexer import AdqlLexer, tokenize

__all__ = ["MAX_QUERY_LENGTH", "parse"]

MAX_QUERY_LENGTH = 1_000_000
"""Longest query text accepted, in characters."""

_GRAMMAR = Path(__file__).with_name("adql.lark")

_TOKEN_NAMES = {
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "DOT": "'.'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "TILDE": "'~'",
    "CONCAT": "'||'",
    "BIT_OP": "a bitwise operator",
    "ADD_OP": "'+' or '-'",
    "COMP_OP": "a comparison operator",
    "NAME": "a name",
    "DELIMITED": 'a "quoted" name',
    "UNSIGNED": "an integer",
    "DECIMAL": "a number",
    "HEX": "a hexadecimal number",
    "STRING": "a 'string'",
    "_SEMI": "';'",
    "$END": "the end of the query",
}


# Markers for the optional clauses of a rule, so the callbacks can tell them apart.
@dataclass(frozen=True, slots=True)
class _Clause:
    kind: str
    value: Any


@dataclass(frozen=True, slots=True)
class _When:
    condition: n.Expr
    result: n.Expr


def _token_text(token: Token) -> str:
    return str(token)


def _ident(token: Token) -> n.Identifier:
    text = _token_text(token)
    if token.type == "DELIMITED":
        return n.Identifier(
            text[1:-1].replace('""', '"'), True, token.line, token.column
        )
    return n.Identifier(text, False, token.line, token.column)


def _fold_sign(op: str, operand: n.Expr) -> n.Expr:
    """Make ``-1.5`` a literal rather than an operator applied to one."""
    if (
        isinstance(operand, n.Literal)
        and isinstance(operand.value, (int, float))
        and not isinstance(operand.value, bool)
    ):
        return n.Literal(-operand.value if op == "-" else operand.value)
    return n.Unary(op, operand)


class _Builder(Transformer[Token, Any]):
    """Grammar callbacks that build nodes (one method per rule or alias)."""

    # ---------------------------------------------------------------- queries

    def start(self, c: list[Any]) -> n.Query:
        query: n.Query = c[0]
        return query

    def query_expr(self, c: list[Any]) -> n.Query:
        body: n.QueryBody | None = None
        clauses: dict[str, Any] = {}
        for child in c:
            if isinstance(child, _Clause):
                clauses[child.kind] = child.value
            else:
                body = child
        assert body is not None
        return n.Query(
            body=body,
            order_by=clauses.get("order", ()),
            offset=clauses.get("offset"),
            with_tables=clauses.get("with", ()),
        )

    def with_clause(self, c: list[n.CommonTable]) -> _Clause:
        return _Clause("with", tuple(c))

    def cte(self, c: list[Any]) -> n.CommonTable:
        return n.CommonTable(c[0], c[1])

    def set_operation(self, c: list[Any]) -> n.SetOperation:
        has_all = len(c) == 4
        return n.SetOperation(str(c[1]).upper(), c[0], c[-1], all=has_all)

    def select_core(self, c: list[Any]) -> n.Select:
        clauses = {x.kind: x.value for x in c}
        return n.Select(
            items=clauses["items"],
            from_items=clauses["from"],
            distinct=clauses.get("quantifier") == "DISTINCT",
            top=clauses.get("top"),
            where=clauses.get("where"),
            group_by=clauses.get("group", ()),
            having=clauses.get("having"),
        )

    def quantifier(self, c: list[Token]) -> _Clause:
        return _Clause("quantifier", str(c[0]).upper())

    def top(self, c: list[Token]) -> _Clause:
        return _Clause("top", _bounded_int(c[0], "TOP"))

    def select_star(self, _c: list[Token]) -> _Clause:
        return _Clause("items", None)

    def select_items(self, c: list[n.SelectItem]) -> _Clause:
        return _Clause("items", tuple(c))

    def derived_column(self, c: list[Any]) -> n.DerivedColumn:
        return n.DerivedColumn(c[0], c[1] if len(c) > 1 else None)

    def qualified_star(self, c: list[Any]) -> n.QualifiedStar:
        return n.QualifiedStar(c[0])

    def from_clause(self, c: list[n.FromItem]) -> _Clause:
        return _Clause("from", tuple(c))

    def qualified_join(self, c: list[Any]) -> n.Join:
        kind = c[1] if len(c) == 4 else "INNER"
        spec: _Clause = c[-1]
        if spec.kind == "on":
            return n.Join(kind, c[0], c[-2], on=spec.value)
        return n.Join(kind, c[0], c[-2], using=spec.value)

    def natural_join(self, c: list[Any]) -> n.Join:
        kind = c[1] if len(c) == 3 else "INNER"
        return n.Join(kind, c[0], c[-1], natural=True)

    def cross_join(self, c: list[Any]) -> n.Join:
        return n.Join("CROSS", c[0], c[1])

    def join_type(self, c: list[Token]) -> str:
        return c[0].type

    def join_on(self, c: list[Any]) -> _Clause:
        return _Clause("on", c[0])

    def join_using(self, c: list[n.Identifier]) -> _Clause:
        return _Clause("using", tuple(c))

    def table_ref(self, c: list[Any]) -> n.TableRef:
        return n.TableRef(c[0], c[1] if len(c) > 1 else None)

    def derived_table(self, c: list[Any]) -> n.DerivedTable:
        return n.DerivedTable(c[0], c[1])

    def parenthesised_join(self, c: list[Any]) -> n.FromItem:
        item: n.FromItem = c[0]
        return item

    def where_clause(self, c: list[Any]) -> _Clause:
        return _Clause("where", c[0])

    def group_by(self, c: list[Any]) -> _Clause:
        return _Clause("group", tuple(c))

    def having(self, c: list[Any]) -> _Clause:
        return _Clause("having", c[0])

    def order_by(self, c: list[n.OrderTerm]) -> _Clause:
        return _Clause("order", tuple(c))

    def order_term(self, c: list[Any]) -> n.OrderTerm:
        descending = len(c) > 1 and c[1].type == "DESC"
        return n.OrderTerm(c[0], descending)

    def offset_clause(self, c: list[Token]) -> _Clause:
        return _Clause("offset", _bounded_int(c[0], "OFFSET"))

    def scalar_subquery(self, c: list[Any]) -> n.ScalarSubquery:
        return n.ScalarSubquery(c[0])

    def subquery(self, c: list[Any]) -> n.Query:
        query: n.Query = c[0]
        return query

    # ------------------------------------------------------------ conditions

    def or_(self, c: list[Any]) -> n.Logical:
        return _logical("OR", c[0], c[1])

    def and_(self, c: list[Any]) -> n.Logical:
        return _logical("AND", c[0], c[1])

    def not_(self, c: list[Any]) -> n.Not:
        return n.Not(c[1])

    def comparison(self, c: list[Any]) -> n.Binary:
        op = "<>" if str(c[1]) == "!=" else str(c[1])
        return n.Binary(op, c[0], c[2])

    def between(self, c: list[Any]) -> n.Between:
        if len(c) == 4:
            return n.Between(c[0], c[2], c[3], negated=True)
        return n.Between(c[0], c[1], c[2])

    def in_list(self, c: list[Any]) -> n.InList:
        negated = isinstance(c[1], Token)
        items = c[2:] if negated else c[1:]
        return n.InList(c[0], tuple(items), negated)

    def in_subquery(self, c: list[Any]) -> n.InSubquery:
        return n.InSubquery(c[0], c[-1], negated=len(c) == 3)

    def like(self, c: list[Any]) -> n.Like:
        negated = len(c) == 4
        op: Token = c[-2]
        return n.Like(c[0], c[-1], negated, case_insensitive=op.type == "ILIKE")

    def is_null(self, c: list[Any]) -> n.IsNull:
        return n.IsNull(c[0], negated=len(c) == 2)

    def exists(self, c: list[Any]) -> n.Exists:
        return n.Exists(c[0])

    # ---------------------------------------------------------------- values

    def binary(self, c: list[Any]) -> n.Binary:
        return n.Binary(str(c[1]), c[0], c[2])

    def unary(self, c: list[Any]) -> n.Expr:
        op = str(c[0])
        if op == "~":
            return n.Unary(op, c[1])
        return _fold_sign(op, c[1])

    def column_ref(self, c: list[Any]) -> n.ColumnRef:
        parts: tuple[n.Identifier, ...] = c[0]
        if len(parts) > 4:
            first = parts[0]
            raise AdqlSyntaxError(
                "A column reference has at most catalog.schema.table.column",
                line=first.line,
                column=first.column,
            )
        return n.ColumnRef(parts)

    def function_call(self, c: list[Any]) -> n.FunctionCall:
        name = _ident(c[0])
        rest = c[1:]
        distinct = False
        if rest and isinstance(rest[0], _Clause):
            distinct = rest[0].value == "DISTINCT"
            rest = rest[1:]
        return n.FunctionCall(name, tuple(rest), distinct=distinct)

    def function_star(self, c: list[Any]) -> n.FunctionCall:
        return n.FunctionCall(_ident(c[0]), star=True)

    def cast(self, c: list[Any]) -> n.Cast:
        target, length = c[1]
        return n.Cast(c[0], target, length)

    def cast_type(self, c: list[Token]) -> tuple[str, int | None]:
        if len(c) == 2 and c[1].type == "NAME":
            return f"{str(c[0]).upper()} {str(c[1]).upper()}", None
        length = _bounded_int(c[1], "a type length") if len(c) == 2 else None
        return str(c[0]).upper(), length

    def case(self, c: list[Any]) -> n.Case:
        operand = None if isinstance(c[0], _When) else c[0]
        whens = tuple((w.condition, w.result) for w in c if isinstance(w, _When))
        otherwise = None if isinstance(c[-1], _When) else c[-1]
        return n.Case(operand, whens, otherwise)

    def when(self, c: list[Any]) -> _When:
        return _When(c[0], c[1])

    def integer(self, c: list[Token]) -> n.Literal:
        return n.Literal(int(str(c[0])))

    def hexadecimal(self, c: list[Token]) -> n.Literal:
        return n.Literal(int(str(c[0])[2:], 16))

    def decimal(self, c: list[Token]) -> n.Literal:
        value = float(str(c[0]))
        if not math.isfinite(value):
            raise AdqlSyntaxError(
                f"The number {c[0]} is too large",
                line=c[0].line,
                column=c[0].column,
            )
        return n.Literal(value)

    def string(self, c: list[Token]) -> n.Literal:
        return n.Literal(str(c[0])[1:-1].replace("''", "'"))

    def null(self, _c: list[Token]) -> n.Literal:
        return n.Literal(None)

    def boolean(self, c: list[Token]) -> n.Literal:
        return n.Literal(c[0].type == "TRUE")

    def dotted(self, c: list[Any]) -> tuple[n.Identifier, ...]:
        if len(c) == 1:
            return (c[0],)
        parts: tuple[n.Identifier, ...] = c[0]
        return (*parts, c[1])

    def ident(self, c: list[Token]) -> n.Identifier:
        return _ident(c[0])


def _logical(op: str, left: n.Expr, right: n.Expr) -> n.Logical:
    operands: list[n.Expr] = []
    for side in (left, right):
        if isinstance(side, n.Logical) and side.op == op:
            operands.extend(side.operands)
        else:
            operands.append(side)
    return n.Logical(op, tuple(operands))


def _bounded_int(token: Token, what: str) -> int:
    value = int(str(token))
    if value >= 2**63:
        raise AdqlSyntaxError(
            f"The value of {what} is too large", line=token.line, column=token.column
        )
    return value


@cache
def _parser() -> LalrDriver:
    lark = Lark(
        _GRAMMAR.read_text(),
        parser="lalr",
        lexer=AdqlLexer,
        transformer=_Builder(),
        maybe_placeholders=False,
        cache=False,
    )
    return LalrDriver(lark)


def warm_up() -> None:
    """Compile the grammar now rather than on the first query."""
    _parser()


def parse(adql: str) -> n.Query:
    """Parse one ADQL query.

    Raises
    ------
    AdqlSyntaxError
        If the text is not a single valid ADQL query.
    """
    if len(adql) > MAX_QUERY_LENGTH:
        raise AdqlSyntaxError(f"The query is longer than {MAX_QUERY_LENGTH} characters")
    if "\x00" in adql:
        raise AdqlSyntaxError("The query contains a NUL character")
    if not adql.strip():
        raise AdqlSyntaxError("The query is empty")
    try:
        query = cast(n.Query, _parser().parse(tokenize(adql)))
    except UnexpectedInput as error:
        raise _token_error(adql, error) from None
    return query


def _token_error(adql: str, error: UnexpectedInput) -> AdqlSyntaxError:
    token = error.token
    expected = error.expected
    if token.type == "$END":
        return AdqlSyntaxError(
            f"The query ends too early; expected {_expected(expected)}"
        )
    start = token.start_pos or 0
    before = _strip_comments(adql[:start]).rstrip()
    text = str(token)
    if before.upper().endswith(" LIMIT") and token.type == "UNSIGNED":
        return AdqlSyntaxError(
            "ADQL has no LIMIT: write SELECT TOP n ... instead",
            line=token.line,
            column=token.column,
        )
    if before.endswith(";"):
        return AdqlSyntaxError(
            "Only one query can be run at a time: remove what follows ';'",
            line=token.line,
            column=token.column,
        )
    if adql.startswith("/*", start) or (
        text == "*" and adql[:start].rstrip().endswith("/")
    ):
        return AdqlSyntaxError(
            "ADQL comments start with -- and run to the end of the line;"
            " /* ... */ is not ADQL",
            line=token.line,
            column=token.column,
        )
    if text.isalpha() and token.type not in {"NAME", "STRING"} and "NAME" in expected:
        return AdqlSyntaxError(
            f'{text.upper()} is a reserved word: write "{text}" to use it'
            f" as a name, or check the query near it",
            line=token.line,
            column=token.column,
        )
    return AdqlSyntaxError(
        f"Unexpected {text!r}; expected {_expected(expected)}",
        line=token.line,
        column=token.column,
    )


def _strip_comments(text: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in text.split("\n"))


def _expected(names: set[str] | frozenset[str]) -> str:
    words = sorted({_TOKEN_NAMES.get(name, name.lstrip("_")) for name in names})
    if len(words) > 10:
        words = [*words[:10], "..."]
    return ", ".join(words) if words else "nothing more"
