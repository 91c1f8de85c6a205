"""The functions ADQL queries may call, other than geometry.

This is the allowlist: a function not named here does not exist for the
user. Each maps its already-translated arguments onto PostgreSQL, checking
their kinds so that a wrong call is a clear :class:`AdqlError` rather than a
database error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..models.schema import VOTableDatatype
from .emitted import Emitted, Kind, meta
from .errors import AdqlReferenceError, AdqlSyntaxError, AdqlUnsupportedError
from .nodes import FunctionCall

__all__ = ["AGGREGATES", "FUNCTION_NAMES", "call_function"]

_DOUBLE = VOTableDatatype.double
_LONG = VOTableDatatype.long

# ADQL name -> PostgreSQL function of one number, yielding double precision.
_UNARY_MATH = {
    "ACOS": "acos",
    "ASIN": "asin",
    "ATAN": "atan",
    "CEILING": "ceiling",
    "COS": "cos",
    "COT": "cot",
    "DEGREES": "degrees",
    "EXP": "exp",
    "FLOOR": "floor",
    "LOG": "ln",
    "LOG10": "log",
    "RADIANS": "radians",
    "SIN": "sin",
    "SQRT": "sqrt",
    "TAN": "tan",
}
_BINARY_MATH = {"ATAN2": "atan2", "POWER": "power"}

AGGREGATES = frozenset({"AVG", "COUNT", "MAX", "MIN", "SUM"})


def _fail(call: FunctionCall, message: str) -> AdqlSyntaxError:
    return AdqlSyntaxError(message, line=call.name.line, column=call.name.column)


def _arity(call: FunctionCall, args: Sequence[Emitted], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        name = call.name.name.upper()
        if low == high:
            wanted = f"{low} argument{'s' if low != 1 else ''}"
        else:
            wanted = f"{low} to {high} arguments"
        raise _fail(call, f"{name} takes {wanted}, not {len(args)}")


def _numbers(call: FunctionCall, args: Sequence[Emitted]) -> None:
    for arg in args:
        if arg.kind not in {Kind.number, Kind.null}:
            raise _fail(call, f"{call.name.name.upper()} expects numbers")


def _double(sql: str, *, unit: str | None = None) -> Emitted:
    return Emitted(sql, Kind.number, meta(_DOUBLE, unit=unit))


def _unary_math(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    _arity(call, args, 1, 1)
    _numbers(call, args)
    name = call.name.name.upper()
    unit = None
    if name == "DEGREES":
        unit = "deg"
    elif name == "RADIANS":
        unit = "rad"
    elif name in {"CEILING", "FLOOR"}:
        unit = args[0].column.unit
    return _double(f"{_UNARY_MATH[name]}({args[0].sql})", unit=unit)


def _binary_math(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    _arity(call, args, 2, 2)
    _numbers(call, args)
    function = _BINARY_MATH[call.name.name.upper()]
    return _double(f"{function}({args[0].sql}, {args[1].sql})")


def _abs(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    _arity(call, args, 1, 1)
    _numbers(call, args)
    arg = args[0]
    column = meta(arg.column.datatype, unit=arg.column.unit, ucd=arg.column.ucd)
    if arg.kind == Kind.null:
        column = meta(_DOUBLE)
    return Emitted(f"abs({arg.sql})", Kind.number, column)


def _mod(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    _arity(call, args, 2, 2)
    _numbers(call, args)
    if all(a.is_integer for a in args):
        return Emitted(f"mod({args[0].sql}, {args[1].sql})", Kind.number, meta(_LONG))
    return _double(
        f"mod(CAST({args[0].sql} AS numeric), CAST({args[1].sql} AS numeric))"
    )


def _pi(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    _arity(call, args, 0, 0)
    return Emitted("pi()", Kind.number, meta(_DOUBLE), exact=True)


def _rand(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    _arity(call, args, 0, 1)
    if args:
        raise AdqlUnsupportedError(
            "RAND with a seed is not supported; use RAND()",
            line=call.name.line,
            column=call.name.column,
        )
    return Emitted("random()", Kind.number, meta(_DOUBLE), exact=True)


def _rounding(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    _arity(call, args, 1, 2)
    _numbers(call, args)
    name = call.name.name.upper()
    function = "round" if name == "ROUND" else "trunc"
    value = args[0]
    if len(args) == 1:
        datatype = _LONG if value.is_integer else _DOUBLE
        column = meta(datatype, unit=value.column.unit)
        return Emitted(f"{function}({value.sql})", Kind.number, column)
    places = args[1]
    if not (places.is_constant and isinstance(places.constant, int)):
        raise _fail(call, f"The second argument of {name} must be a whole number")
    return _double(
        f"{function}(CAST({value.sql} AS numeric), {places.sql})",
        unit=value.column.unit,
    )


def _case_folding(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    _arity(call, args, 1, 1)
    arg = args[0]
    if arg.kind not in {Kind.string, Kind.null}:
        raise _fail(call, f"{call.name.name.upper()} expects a string")
    sql = f"{call.name.name.lower()}({_text(arg)})"
    return Emitted(sql, Kind.string, meta(VOTableDatatype.char, arraysize="*"))


def _text(arg: Emitted) -> str:
    return f"{arg.sql}::text" if arg.is_parameter else arg.sql


def _coalesce(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    if len(args) < 1:
        raise _fail(call, "COALESCE takes at least one argument")
    typed = [a for a in args if a.kind != Kind.null]
    kinds = {a.kind for a in typed}
    if len(kinds) > 1:
        raise _fail(call, "The arguments of COALESCE must be of one kind")
    first = next((a for a in typed if not a.is_constant), typed[0] if typed else None)
    column = first.column if first else meta(VOTableDatatype.char, arraysize="*")
    kind = first.kind if first else Kind.null
    if kind == Kind.number and any(not a.is_integer for a in typed):
        column = meta(_DOUBLE, unit=column.unit)
    sql = ", ".join(_text(a) if kind == Kind.string else a.sql for a in args)
    return Emitted(f"coalesce({sql})", kind, column)


def _aggregate(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    name = call.name.name.upper()
    quantifier = "DISTINCT " if call.distinct else ""
    if call.star:
        if name != "COUNT":
            raise _fail(call, f"{name}(*) is not ADQL; only COUNT(*) is")
        return Emitted("count(*)", Kind.number, meta(_LONG), exact=True)
    _arity(call, args, 1, 1)
    arg = args[0]
    inner = f"{quantifier}{arg.sql}"
    if name == "COUNT":
        return Emitted(f"count({inner})", Kind.number, meta(_LONG), exact=True)
    if name in {"MIN", "MAX"}:
        if arg.kind == Kind.geometry:
            raise _fail(call, f"{name} does not apply to geometries")
        return Emitted(
            f"{name.lower()}({inner})",
            arg.kind,
            arg.column,
            exact=arg.exact or arg.source is not None,
        )
    _numbers(call, args)
    if name == "AVG":
        return _double(f"avg({inner})", unit=arg.column.unit)
    column = meta(
        _LONG if arg.is_integer else _DOUBLE,
        unit=arg.column.unit,
    )
    return Emitted(f"sum({inner})", Kind.number, column)


def _in_unit(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    _arity(call, args, 2, 2)
    value, target = args
    if value.kind != Kind.number:
        raise _fail(call, "IN_UNIT converts numbers")
    if not (target.is_constant and isinstance(target.constant, str)):
        raise _fail(call, "The second argument of IN_UNIT must be a unit string")
    source_unit = value.column.unit
    if not source_unit:
        raise AdqlUnsupportedError(
            "IN_UNIT needs a value whose unit is known (a column with a unit)",
            line=call.name.line,
            column=call.name.column,
        )
    from astropy import units  # noqa: PLC0415 (slow import, only needed here)

    try:
        factor = float(units.Unit(source_unit).to(units.Unit(target.constant)))
    except (ValueError, TypeError, units.UnitsError) as error:
        raise AdqlUnsupportedError(
            f"Cannot convert {source_unit} to {target.constant}: {error}",
            line=call.name.line,
            column=call.name.column,
        ) from None
    return _double(f"{value.operand()} * {factor!r}", unit=target.constant)


type _Handler = Callable[[FunctionCall, Sequence[Emitted]], Emitted]

_HANDLERS: dict[str, _Handler] = {
    **dict.fromkeys(_UNARY_MATH, _unary_math),
    **dict.fromkeys(_BINARY_MATH, _binary_math),
    **dict.fromkeys(AGGREGATES, _aggregate),
    "ABS": _abs,
    "COALESCE": _coalesce,
    "IN_UNIT": _in_unit,
    "LOWER": _case_folding,
    "MOD": _mod,
    "PI": _pi,
    "RAND": _rand,
    "ROUND": _rounding,
    "TRUNCATE": _rounding,
    "UPPER": _case_folding,
}

FUNCTION_NAMES = frozenset(_HANDLERS)
"""Every non-geometry function a query may call."""


def call_function(call: FunctionCall, args: Sequence[Emitted]) -> Emitted:
    """Translate a call to an allowed function (arguments already translated)."""
    name = call.name.name.upper()
    handler = _HANDLERS.get(name)
    if handler is None or call.name.delimited:
        raise AdqlReferenceError(
            f"Function {call.name} does not exist",
            line=call.name.line,
            column=call.name.column,
        )
    if (call.distinct or call.star) and name not in AGGREGATES:
        raise _fail(call, f"{name} is not an aggregate function")
    return handler(call, args)
