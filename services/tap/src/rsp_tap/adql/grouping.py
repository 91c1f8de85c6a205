"""Which parts of an expression are aggregated, for checking GROUP BY.

PostgreSQL would refuse a query that selects a column neither grouped nor
inside an aggregate, but its message names our generated aliases (``t1``);
checking here gives the user an error in the query's own words.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, is_dataclass

from . import nodes as n
from .functions import AGGREGATES

__all__ = ["free_columns", "has_aggregate"]

_SUBQUERIES = (n.Exists, n.InSubquery, n.ScalarSubquery)


def _is_aggregate(node: object) -> bool:
    return (
        isinstance(node, n.FunctionCall)
        and not node.name.delimited
        and node.name.name.upper() in AGGREGATES
    )


def _children(node: object) -> Iterator[object]:
    for field in fields(node):  # type: ignore[arg-type]
        value = getattr(node, field.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            # CASE keeps (condition, result) pairs.
            for child in item if isinstance(item, tuple) else (item,):
                if is_dataclass(child) and not isinstance(
                    child, (n.Query, n.Identifier)
                ):
                    yield child


def _walk(node: object) -> Iterator[object]:
    """Nodes of an expression, not entering aggregates or subqueries."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if _is_aggregate(current) or isinstance(current, _SUBQUERIES):
            continue
        if isinstance(current, (n.Literal, n.ColumnRef, n.Identifier)):
            continue
        stack.extend(_children(current))


def has_aggregate(node: n.Expr) -> bool:
    """Whether the expression applies an aggregate function (outside subqueries)."""
    return any(_is_aggregate(x) for x in _walk(node))


def free_columns(node: n.Expr) -> list[n.ColumnRef]:
    """Column references outside aggregate functions and subqueries."""
    return [x for x in _walk(node) if isinstance(x, n.ColumnRef)]
