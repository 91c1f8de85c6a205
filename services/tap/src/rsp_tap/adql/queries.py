"""Translation of ADQL queries (SELECT, joins, set operations, WITH).

Tables get generated aliases (``t1``...), common tables generated names
(``w1``...) and result columns either their schema spelling or a generated
name (``c3``); user-chosen names live only in the result metadata.
"""

from __future__ import annotations

from dataclasses import replace

from ..models.schema import CatalogColumn
from . import nodes as n
from .emitted import Emitted, Kind, kind_of, quote_identifier, sql_type
from .errors import AdqlReferenceError, AdqlSyntaxError
from .expressions import ExpressionTranslator, Output, QueryOutput
from .geometry import geometry_output
from .grouping import free_columns, has_aggregate
from .scope import Catalog, NarrowRouting, Scope, Source, SourceColumn

__all__ = ["Translator"]

_JOIN_KEYWORDS = {
    "INNER": "INNER JOIN",
    "LEFT": "LEFT OUTER JOIN",
    "RIGHT": "RIGHT OUTER JOIN",
    "FULL": "FULL OUTER JOIN",
    "CROSS": "CROSS JOIN",
}


class Translator(ExpressionTranslator):
    """Translates one whole query (create one per translation)."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__(catalog)
        self._aliases = 0
        self._common: list[tuple[n.Identifier, str, tuple[Output, ...]]] = []
        self.routing = NarrowRouting()

    def _alias(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    # -------------------------------------------------------------- queries

    def query(self, query: n.Query, parent: Scope | None) -> QueryOutput:
        """Translate a query or subquery."""
        saved = len(self._common)
        definitions = []
        for common in query.with_tables:
            sub = self.query(common.query, parent)
            name = self._alias("w")
            self._common.append((common.name, name, sub.outputs))
            definitions.append(f"{name} AS ({sub.sql})")
        try:
            if isinstance(query.body, n.Select):
                result = self._select(query.body, parent, query)
            else:
                result = self._set_query(query, parent)
        finally:
            del self._common[saved:]
        if definitions:
            sql = f"WITH {', '.join(definitions)} {result.sql}"
            return QueryOutput(sql, result.outputs, result.limit)
        return result

    def _set_query(self, query: n.Query, parent: Scope | None) -> QueryOutput:
        assert isinstance(query.body, n.SetOperation)
        sql, outputs = self._set_operation(query.body, parent)
        clauses = [sql]
        if query.order_by:
            terms = [self._order_term(t, None, outputs) for t in query.order_by]
            clauses.append("ORDER BY " + ", ".join(terms))
        if query.offset is not None:
            clauses.append(f"OFFSET {query.offset}")
        return QueryOutput(" ".join(clauses), outputs)

    def _set_operation(
        self, operation: n.SetOperation, parent: Scope | None
    ) -> tuple[str, tuple[Output, ...]]:
        sides = []
        for body in (operation.left, operation.right):
            if isinstance(body, n.Select):
                side = self._select(body, parent, None)
                sides.append((f"({side.sql})", side.outputs))
            else:
                sql, outputs = self._set_operation(body, parent)
                sides.append((f"({sql})", outputs))
        (left_sql, left), (right_sql, right) = sides
        if len(left) != len(right):
            raise AdqlSyntaxError(
                f"Both sides of {operation.op} must select as many columns"
                f" ({len(left)} and {len(right)})"
            )
        keyword = f"{operation.op} ALL" if operation.all else operation.op
        return f"{left_sql} {keyword} {right_sql}", left

    def _select(
        self, select: n.Select, parent: Scope | None, query: n.Query | None
    ) -> QueryOutput:
        scope = Scope(parent=parent)
        tables = ", ".join(self._from_item(item, scope) for item in select.from_items)
        outputs = self._select_list(select, scope)
        clauses = ["SELECT DISTINCT" if select.distinct else "SELECT"]
        clauses.append(", ".join(_output_sql(o) for o in outputs))
        clauses.append(f"FROM {tables}")
        if select.where is not None:
            _no_aggregate(select.where, "WHERE")
            clauses.append("WHERE " + self.condition(select.where, scope))
        for term in select.group_by:
            _no_aggregate(term, "GROUP BY")
        if select.group_by:
            terms = [self._group_term(t, scope, outputs) for t in select.group_by]
            clauses.append("GROUP BY " + ", ".join(terms))
        if select.having is not None:
            clauses.append("HAVING " + self.condition(select.having, scope))
        order_by = query.order_by if query is not None else ()
        self._check_grouping(select, scope, outputs, order_by)
        if select.distinct:
            self._check_distinct_order(scope, outputs, order_by)
        if query is not None and query.order_by:
            terms = [self._order_term(t, scope, outputs) for t in query.order_by]
            clauses.append("ORDER BY " + ", ".join(terms))
        if select.top is not None:
            clauses.append(f"LIMIT {select.top}")
        if query is not None and query.offset is not None:
            clauses.append(f"OFFSET {query.offset}")
        return QueryOutput(" ".join(clauses), outputs, select.top)

    # ---------------------------------------------------------- select list

    def _select_list(self, select: n.Select, scope: Scope) -> tuple[Output, ...]:
        named: list[tuple[str, bool, Emitted, SourceColumn | None]] = []
        if select.items is None:
            named.extend(_from_source(c) for c in scope.star_columns(None))
        else:
            for position, item in enumerate(select.items, start=1):
                if isinstance(item, n.QualifiedStar):
                    columns = scope.star_columns(item.qualifier)
                    named.extend(_from_source(c) for c in columns)
                    continue
                if isinstance(item.expr, n.ColumnRef):
                    source = scope.resolve(item.expr)
                    value = _from_source(source)[2]
                else:
                    source = None
                    value = self.expr(item.expr, scope)
                if item.alias is not None:
                    named.append((item.alias.name, item.alias.delimited, value, source))
                elif source is not None:
                    named.append((source.name, source.delimited, value, source))
                else:
                    named.append(
                        (_default_name(item.expr, position), False, value, None)
                    )
        return _outputs(named)

    def _check_grouping(
        self,
        select: n.Select,
        scope: Scope,
        outputs: tuple[Output, ...],
        order_by: tuple[n.OrderTerm, ...],
    ) -> None:
        """Refuse columns that are neither grouped nor aggregated, where it counts.

        That is in the select list, HAVING and ORDER BY of a query that groups
        (GROUP BY, HAVING, or an aggregate in the select list).
        """
        items = select.items or ()
        expressions = [i.expr for i in items if isinstance(i, n.DerivedColumn)]
        if not (
            select.group_by
            or select.having is not None
            or any(has_aggregate(e) for e in expressions)
        ):
            return
        grouped = set()
        for term in select.group_by:
            sql = self._group_term(term, scope, outputs)
            grouped.add(outputs[int(sql) - 1].value.sql if sql.isdigit() else sql)
        position = 0
        for item in select.items or [None]:
            if not isinstance(item, n.DerivedColumn):
                # SELECT * or t.*: every column it brings must be grouped.
                count = len(scope.star_columns(item.qualifier if item else None))
                for output in outputs[position : position + count]:
                    if output.value.sql not in grouped:
                        raise AdqlSyntaxError(
                            f"Column {output.name} is selected but neither in"
                            " GROUP BY nor inside an aggregate function"
                        )
                position += count
                continue
            value = outputs[position].value
            position += 1
            if value.sql not in grouped:
                self._check_grouped(item.expr, scope, grouped)
        if select.having is not None:
            self._check_grouped(select.having, scope, grouped)
        for order_term in order_by:
            ordering = order_term.expr
            if (
                _output_term(ordering, outputs) is None
                and self.expr(ordering, scope).sql not in grouped
            ):
                self._check_grouped(ordering, scope, grouped)

    def _check_grouped(self, expr: n.Expr, scope: Scope, grouped: set[str]) -> None:
        for ref in free_columns(expr):
            if scope.lookup_local(ref) is None:
                continue
            if self.expr(ref, scope).sql not in grouped:
                name = ref.parts[-1]
                raise AdqlSyntaxError(
                    f"Column {'.'.join(str(p) for p in ref.parts)} must be in"
                    " GROUP BY or inside an aggregate function such as"
                    f" MAX({name})",
                    line=name.line,
                    column=name.column,
                )

    def _check_distinct_order(
        self,
        scope: Scope,
        outputs: tuple[Output, ...],
        order_by: tuple[n.OrderTerm, ...],
    ) -> None:
        """With SELECT DISTINCT, ORDER BY may only use what is selected."""
        selected = {o.value.sql for o in outputs}
        for term in order_by:
            if _output_term(term.expr, outputs) is not None:
                continue
            if self.expr(term.expr, scope).sql not in selected:
                raise AdqlSyntaxError(
                    "With SELECT DISTINCT, ORDER BY can only use selected columns"
                    " (by name, alias or position)"
                )

    def _group_term(
        self, term: n.Expr, scope: Scope, outputs: tuple[Output, ...]
    ) -> str:
        if isinstance(term, n.ColumnRef) and len(term.parts) == 1:
            try:
                return self.expr(term, scope).sql
            except AdqlReferenceError:
                position = _output_position(term.parts[0], outputs)
                if position is None:
                    raise
                return str(position)
        return self.expr(term, scope).sql

    def _order_term(
        self, term: n.OrderTerm, scope: Scope | None, outputs: tuple[Output, ...]
    ) -> str:
        suffix = " DESC" if term.descending else " ASC"
        expr = term.expr
        if isinstance(expr, n.Literal) and isinstance(expr.value, int):
            if not 1 <= expr.value <= len(outputs):
                raise AdqlSyntaxError(
                    f"ORDER BY {expr.value}: the query has {len(outputs)} columns"
                )
            return f"{expr.value}{suffix}"
        if isinstance(expr, n.ColumnRef) and len(expr.parts) == 1:
            position = _output_position(expr.parts[0], outputs)
            if position is not None:
                return f"{position}{suffix}"
        if scope is None:
            raise AdqlSyntaxError(
                "ORDER BY after UNION, EXCEPT or INTERSECT takes column names"
                " or positions"
            )
        value = self.expr(expr, scope)
        return f"{value.sql if not value.compound else value.operand()}{suffix}"

    # ----------------------------------------------------------------- FROM

    def _from_item(self, item: n.FromItem, scope: Scope) -> str:
        if isinstance(item, n.TableRef):
            return self._table(item, scope)
        if isinstance(item, n.DerivedTable):
            sub = self.query(item.query, scope.parent)
            alias = self._alias("t")
            scope.add(
                Source(alias, item.alias, None, _source_columns(alias, sub.outputs))
            )
            return f"({sub.sql}) AS {alias}"
        return self._join(item, scope)

    def _table(self, item: n.TableRef, scope: Scope) -> str:
        if len(item.parts) == 1:
            for name, sql_name, outputs in reversed(self._common):
                if item.parts[0].matches(name.name):
                    alias = self._alias("t")
                    correlation = item.alias or name
                    columns = _source_columns(alias, outputs)
                    scope.add(Source(alias, correlation, None, columns))
                    return f"{sql_name} AS {alias}"
        entry = self.catalog.find(item.parts)
        alias = self._alias("t")
        if entry.narrow is None:
            scope.add(Source(alias, item.alias, entry.table))
            return f"{entry.sql} AS {alias}"
        source = Source(alias, item.alias, entry.table, used=set())
        scope.add(source)
        return f"{self.routing.placeholder(source, entry)} AS {alias}"

    def _join(self, join: n.Join, scope: Scope) -> str:
        start = len(scope.sources)
        left_sql = self._from_item(join.left, scope)
        middle = len(scope.sources)
        right_sql = self._from_item(join.right, scope)
        if isinstance(join.right, n.Join):
            right_sql = f"({right_sql})"
        keyword = _JOIN_KEYWORDS[join.kind]
        if join.kind == "CROSS":
            return f"{left_sql} {keyword} {right_sql}"
        if join.on is not None:
            _no_aggregate(join.on, "ON")
            return (
                f"{left_sql} {keyword} {right_sql} ON {self.condition(join.on, scope)}"
            )
        left, right = scope.sources[start:middle], scope.sources[middle:]
        names = list(join.using) if not join.natural else _common_names(left, right)
        if not names:
            raise AdqlSyntaxError("NATURAL JOIN: the tables have no column in common")
        equalities = []
        for name in names:
            a, b = _only(left, name, "left"), _only(right, name, "right")
            equalities.append(f"{a.sql} = {b.sql}")
            scope.merged.append(_merged(join.kind, a, b))
            scope.merged_names.add(a.name.lower())
        return f"{left_sql} {keyword} {right_sql} ON {' AND '.join(equalities)}"


def _no_aggregate(expr: n.Expr, clause: str) -> None:
    if has_aggregate(expr):
        raise AdqlSyntaxError(
            f"Aggregate functions (COUNT, SUM, AVG, MIN, MAX) cannot be used in"
            f" {clause}; filter groups with HAVING"
        )


def _only(sources: list[Source], name: n.Identifier, side: str) -> SourceColumn:
    found = [c for s in sources if (c := s.find(name)) is not None]
    if len(found) != 1:
        problem = "is not" if not found else "is ambiguous"
        raise AdqlReferenceError(
            f"Join column {name} {problem} on the {side} side",
            line=name.line,
            column=name.column,
        )
    return found[0]


def _common_names(left: list[Source], right: list[Source]) -> list[n.Identifier]:
    right_names = {name.lower() for s in right for name in s.names()}
    names: list[n.Identifier] = []
    for source in left:
        for name in source.names():
            if name.lower() in right_names:
                names.append(n.Identifier(name, delimited=True))
    return names


def _merged(kind: str, a: SourceColumn, b: SourceColumn) -> SourceColumn:
    if kind == "FULL":
        return replace(a, sql=f"coalesce({a.sql}, {b.sql})", from_table=False)
    return b if kind == "RIGHT" else a


def _source_columns(alias: str, outputs: tuple[Output, ...]) -> list[SourceColumn]:
    return [
        SourceColumn(
            o.name, f"{alias}.{quote_identifier(o.sql_name)}", o.column, o.delimited
        )
        for o in outputs
    ]


def _from_source(column: SourceColumn) -> tuple[str, bool, Emitted, SourceColumn]:
    kind = kind_of(column.column)
    value = Emitted(
        column.sql,
        kind,
        column.column,
        exact=True,
        source=column.column,
        geometry=column.column.xtype if kind == Kind.geometry else None,
    )
    return column.name, column.delimited, value, column


def _default_name(expr: n.Expr, position: int) -> str:
    if isinstance(expr, n.FunctionCall):
        return expr.name.name.lower()
    return f"col{position}"


def _outputs(
    named: list[tuple[str, bool, Emitted, SourceColumn | None]],
) -> tuple[Output, ...]:
    used_names: set[str] = set()
    used_sql: set[str] = set()
    outputs = []
    for position, (name, delimited, value, source) in enumerate(named, start=1):
        unique = name
        suffix = 1
        while unique.lower() in used_names:
            suffix += 1
            unique = f"{name}_{suffix}"
        used_names.add(unique.lower())
        if (
            source is not None
            and source.from_table
            and source.name.lower() not in used_sql
        ):
            sql_name = source.name
        else:
            sql_name = f"c{position}"
            while sql_name.lower() in used_sql:
                sql_name += "_"
        used_sql.add(sql_name.lower())
        column: CatalogColumn = value.column
        if column.name != unique:
            column = replace(column, name=unique)
        outputs.append(Output(unique, sql_name, column, value, delimited))
    return tuple(outputs)


def _output_term(expr: n.Expr, outputs: tuple[Output, ...]) -> int | None:
    """The result column an ORDER BY term names by position or name, if any."""
    if isinstance(expr, n.Literal) and isinstance(expr.value, int):
        return expr.value
    if isinstance(expr, n.ColumnRef) and len(expr.parts) == 1:
        return _output_position(expr.parts[0], outputs)
    return None


def _output_position(name: n.Identifier, outputs: tuple[Output, ...]) -> int | None:
    for position, output in enumerate(outputs, start=1):
        if (
            name.matches(output.name)
            if not output.delimited
            else name.name == output.name
        ):
            return position
    return None


def _output_sql(output: Output) -> str:
    value = output.value
    if value.kind == Kind.geometry:
        sql = geometry_output(value)
    elif value.kind == Kind.timestamp:
        sql = f"to_char({value.sql}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    elif value.is_parameter:
        sql = f"{value.sql}::text"
    elif (
        value.predicate is not None
        or value.exact
        or value.kind
        not in {
            Kind.number,
            Kind.boolean,
        }
    ):
        sql = value.sql
    else:
        sql = f"CAST({value.sql} AS {sql_type(value.column.datatype)})"
    if (
        value.source is not None
        and sql == value.sql
        and output.sql_name == value.source.name
        and sql.endswith("." + quote_identifier(output.sql_name))
    ):
        return sql
    return f"{sql} AS {quote_identifier(output.sql_name)}"
