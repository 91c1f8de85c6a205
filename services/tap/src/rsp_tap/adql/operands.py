"""Helpers for operands: parameter typing, comparability, constant arithmetic.

Shared by the expression translator; none of them produce SQL from query text.
"""

from __future__ import annotations

from . import nodes as n
from .emitted import Emitted, Kind
from .errors import AdqlSyntaxError

__all__ = [
    "arithmetic",
    "as_text",
    "beside",
    "check_comparable",
    "describe",
    "within_distance",
]

_COMPARABLE = {
    frozenset({Kind.number}),
    frozenset({Kind.string}),
    frozenset({Kind.boolean}),
    frozenset({Kind.timestamp}),
    frozenset({Kind.timestamp, Kind.string}),
}


def as_text(value: Emitted) -> str:
    """SQL for a value whose type PostgreSQL cannot infer from context."""
    if value.is_parameter:
        return f"{value.sql}::text"
    return value.operand()


def beside(value: Emitted, other: Emitted) -> str:
    """SQL for an operand beside ``other``: a string parameter takes its type."""
    if (
        value.is_parameter
        and other.kind in {Kind.string, Kind.timestamp}
        and not other.is_constant
    ):
        return value.sql
    return as_text(value)


def within_distance(op: str, left: Emitted, right: Emitted) -> str | None:
    """``DISTANCE(p, q) < r`` with an index-friendly ``p <@ scircle(q, r)`` first.

    The exact comparison stays, so the meaning is unchanged; the containment
    lets the planner use the spatial index on ``p``.
    """
    flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
    if right.distance is None and left.distance is not None:
        pass
    elif left.distance is None and right.distance is not None and op in flipped:
        left, right, op = right, left, flipped[op]
    else:
        return None
    radius = right.number
    if op not in {"<", "<="} or radius is None or not 0 <= radius <= 90:
        return None
    assert left.distance is not None
    point, centre = left.distance
    return (
        f"{point} <@ scircle({centre}, radians({right.sql}))"
        f" AND {left.sql} {op} {right.sql}"
    )


def arithmetic(
    op: str, left: float | None, right: float | None, *, integral: bool
) -> float | None:
    """Value of ``left op right`` as PostgreSQL computes it, when both are known."""
    if left is None or right is None:
        return None
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/" and right != 0:
        return float(int(left / right)) if integral else left / right
    return None


def check_comparable(left: Emitted, right: Emitted, node: object) -> None:
    """Refuse comparing values of different kinds (a number with a string...)."""
    kinds = frozenset({left.kind, right.kind} - {Kind.null})
    if kinds and kinds not in _COMPARABLE:
        kind = sorted(k.value for k in kinds)
        raise AdqlSyntaxError(
            f"Cannot compare a {kind[0]} with a {kind[-1]}{_near(node)}"
        )


def _near(node: object) -> str:
    """`` (near column x)`` for the first column an expression names."""
    for part in ("operand", "left", "right"):
        child = getattr(node, part, None)
        if isinstance(child, n.ColumnRef):
            return f" (column {'.'.join(str(p) for p in child.parts)})"
    return ""


def describe(node: object) -> str:
    """Short description of an expression for error messages."""
    if isinstance(node, n.ColumnRef):
        return "Column " + ".".join(str(p) for p in node.parts)
    if isinstance(node, n.FunctionCall):
        return f"{node.name.name.upper()}(...)"
    if isinstance(node, n.Literal):
        return f"The value {node.value!r}"
    return "The expression"
