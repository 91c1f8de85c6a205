"""ADQL geometry on pgsphere.

ADQL speaks degrees, pgsphere radians. ``POINT('ICRS', ra, dec)`` over table
columns becomes exactly ``spoint(radians(ra), radians(dec))``, the expression
the catalogs' GiST indexes are built on, and ``CONTAINS(...) = 1`` becomes
``<@`` (``INTERSECTS`` becomes ``&&``), so the planner uses those indexes.
Geometry values in results follow DALI: a point is ``double[2]`` with xtype
``point``, a circle ``double[3]`` with xtype ``circle`` (degrees).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..models.schema import VOTableDatatype
from .emitted import Emitted, Kind, meta
from .errors import AdqlSyntaxError, AdqlUnsupportedError
from .nodes import FunctionCall, Literal

__all__ = [
    "CONSTRUCTORS",
    "GEOMETRY_FUNCTIONS",
    "call_geometry",
    "geometry_output",
    "strip_coordsys",
]

CONSTRUCTORS = frozenset({"BOX", "CIRCLE", "POINT", "POLYGON"})
PREDICATES = frozenset({"CONTAINS", "INTERSECTS"})

_DOUBLE = VOTableDatatype.double


def _fail(call: FunctionCall, message: str) -> AdqlSyntaxError:
    return AdqlSyntaxError(message, line=call.name.line, column=call.name.column)


def strip_coordsys(call: FunctionCall) -> FunctionCall:
    """Check and drop the coordinate system argument of a constructor.

    Only ICRS (or an empty string, meaning the same) is supported; the
    argument never reaches the SQL.
    """
    if not call.args:
        return call
    first = call.args[0]
    if not (isinstance(first, Literal) and isinstance(first.value, str)):
        return call
    frame = first.value.strip().upper()
    if frame and frame.split()[0] not in {"ICRS", "UNKNOWNFRAME"}:
        raise AdqlUnsupportedError(
            f"Coordinate system {first.value!r} is not supported; use 'ICRS'",
            line=call.name.line,
            column=call.name.column,
        )
    return FunctionCall(call.name, call.args[1:])


def _point(sql: str, *, fixed: bool = False) -> Emitted:
    return Emitted(
        sql,
        Kind.geometry,
        meta(_DOUBLE, arraysize="2", xtype="point", unit="deg"),
        geometry="point",
        fixed=fixed,
    )


def _region(sql: str, shape: str) -> Emitted:
    arraysize = "3" if shape == "circle" else "*"
    xtype = shape if shape in {"circle", "polygon"} else "polygon"
    return Emitted(
        sql,
        Kind.geometry,
        meta(_DOUBLE, arraysize=arraysize, xtype=xtype, unit="deg"),
        geometry=shape,
    )


def _numbers(call: FunctionCall, args: Sequence[Emitted]) -> None:
    for arg in args:
        if arg.kind != Kind.number:
            name = call.name.name.upper()
            raise _fail(call, f"{name} expects numbers (degrees) or points here")


def _spoint(x: Emitted, y: Emitted) -> str:
    return f"spoint(radians({x.sql}), radians({y.sql}))"


def _points(call: FunctionCall, args: Sequence[Emitted]) -> list[str]:
    """Arguments as pgsphere points: either all points, or coordinate pairs."""
    if all(a.geometry == "point" for a in args):
        return [a.sql for a in args]
    if len(args) % 2:
        raise _fail(call, f"{call.name.name.upper()} needs coordinate pairs")
    _numbers(call, args)
    return [_spoint(args[i], args[i + 1]) for i in range(0, len(args), 2)]


def _make_point(call: FunctionCall, args: Sequence[Emitted], _: ParamSink) -> Emitted:
    if len(args) != 2:
        raise _fail(call, "POINT takes a coordinate system and two coordinates")
    _numbers(call, args)
    return _point(_spoint(args[0], args[1]), fixed=args[0].fixed and args[1].fixed)


def _make_circle(call: FunctionCall, args: Sequence[Emitted], _: ParamSink) -> Emitted:
    if len(args) == 2 and args[0].geometry == "point":
        centre, radius = args[0].sql, args[1]
    elif len(args) == 3:
        _numbers(call, args[:2])
        centre, radius = _spoint(args[0], args[1]), args[2]
    else:
        raise _fail(
            call, "CIRCLE takes a centre (a point or two coordinates) and a radius"
        )
    _numbers(call, [radius])
    if radius.number is not None and not 0 <= radius.number <= 90:
        raise _fail(call, "The radius of a CIRCLE must be between 0 and 90 degrees")
    return _region(f"scircle({centre}, radians({radius.sql}))", "circle")


def _make_box(call: FunctionCall, args: Sequence[Emitted], _: ParamSink) -> Emitted:
    if len(args) == 3 and args[0].geometry == "point":
        centre = args[0].sql
        x, y = f"degrees(long({centre}))", f"degrees(lat({centre}))"
        width, height = args[1], args[2]
    elif len(args) == 4:
        _numbers(call, args[:2])
        x, y, width, height = args[0].operand(), args[1].operand(), args[2], args[3]
    else:
        raise _fail(call, "BOX takes a centre, a width and a height")
    _numbers(call, [width, height])
    w, h = width.operand(), height.operand()
    south_west = f"spoint(radians({x} - {w} / 2.0), radians({y} - {h} / 2.0))"
    north_east = f"spoint(radians({x} + {w} / 2.0), radians({y} + {h} / 2.0))"
    return _region(f"sbox({south_west}, {north_east})", "box")


def _make_polygon(
    call: FunctionCall, args: Sequence[Emitted], params: ParamSink
) -> Emitted:
    if all(a.is_constant and isinstance(a.constant, (int, float)) for a in args):
        if len(args) < 6 or len(args) % 2:
            raise _fail(call, "POLYGON needs at least three vertices")
        values = [float(a.constant) for a in args]  # type: ignore[arg-type]
        text = ",".join(
            f"({values[i]!r}d,{values[i + 1]!r}d)" for i in range(0, len(values), 2)
        )
        return _region(f"CAST({params('{' + text + '}')}::text AS spoly)", "polygon")
    vertices = _points(call, args)
    if len(vertices) < 3:
        raise _fail(call, "POLYGON needs at least three vertices")
    rows = ", ".join(f"({i}, {v})" for i, v in enumerate(vertices, start=1))
    # The vertices are SQL this translator emitted, not text from the query.
    sql = f"(SELECT spoly(v.p ORDER BY v.i) FROM (VALUES {rows}) AS v(i, p))"  # noqa: S608
    return _region(sql, "polygon")


def _geometries(call: FunctionCall, args: Sequence[Emitted], count: int) -> None:
    if len(args) != count or any(a.geometry is None for a in args):
        noun = "a geometry" if count == 1 else f"{count} geometries"
        raise _fail(call, f"{call.name.name.upper()} takes {noun}")


def _predicate(call: FunctionCall, args: Sequence[Emitted], _: ParamSink) -> Emitted:
    _geometries(call, args, 2)
    name = call.name.name.upper()
    a, b = args
    if name == "CONTAINS":
        if b.geometry == "point":
            raise AdqlUnsupportedError(
                "CONTAINS(x, POINT(...)) is not supported: a point contains nothing",
                line=call.name.line,
                column=call.name.column,
            )
        condition = f"{a.sql} <@ {b.sql}"
    elif a.geometry == "point" and b.geometry == "point":
        condition = f"{a.sql} = {b.sql}"
    elif b.geometry == "point":
        condition = f"{b.sql} <@ {a.sql}"
    elif a.geometry == "point":
        condition = f"{a.sql} <@ {b.sql}"
    else:
        condition = f"{a.sql} && {b.sql}"
    return Emitted(
        f"CASE WHEN {condition} THEN 1 ELSE 0 END",
        Kind.number,
        meta(VOTableDatatype.int),
        exact=True,
        predicate=condition,
    )


def _distance(call: FunctionCall, args: Sequence[Emitted], _: ParamSink) -> Emitted:
    if len(args) == 4:
        _numbers(call, args)
        points = [
            _point(_spoint(args[0], args[1]), fixed=args[0].fixed and args[1].fixed),
            _point(_spoint(args[2], args[3]), fixed=args[2].fixed and args[3].fixed),
        ]
    elif len(args) == 2 and all(a.geometry == "point" for a in args):
        points = list(args)
    else:
        raise _fail(call, "DISTANCE takes two points or four coordinates")
    first, second = points
    # Look up the point that varies (a table's) in the index, around the other.
    lookup = (second.sql, first.sql) if first.fixed else (first.sql, second.sql)
    return Emitted(
        f"degrees({first.sql} <-> {second.sql})",
        Kind.number,
        meta(_DOUBLE, unit="deg", ucd="pos.angDistance"),
        exact=True,
        distance=lookup,
    )


def _coordinate(call: FunctionCall, args: Sequence[Emitted], _: ParamSink) -> Emitted:
    if len(args) != 1 or args[0].geometry != "point":
        raise _fail(call, f"{call.name.name.upper()} takes a point")
    function = "long" if call.name.name.upper() == "COORD1" else "lat"
    return Emitted(
        f"degrees({function}({args[0].sql}))",
        Kind.number,
        meta(_DOUBLE, unit="deg"),
        exact=True,
    )


def _coordsys(call: FunctionCall, args: Sequence[Emitted], _: ParamSink) -> Emitted:
    _geometries(call, args, 1)
    return Emitted(
        "'ICRS'::text", Kind.string, meta(VOTableDatatype.char, arraysize="*")
    )


def _area(call: FunctionCall, args: Sequence[Emitted], _: ParamSink) -> Emitted:
    _geometries(call, args, 1)
    region = args[0]
    sql = (
        "0.0" if region.geometry == "point" else f"degrees(degrees(area({region.sql})))"
    )
    return Emitted(sql, Kind.number, meta(_DOUBLE, unit="deg**2"), exact=True)


def _centroid(call: FunctionCall, args: Sequence[Emitted], _: ParamSink) -> Emitted:
    _geometries(call, args, 1)
    region = args[0]
    if region.geometry == "point":
        return region
    if region.geometry != "circle":
        raise AdqlUnsupportedError(
            "CENTROID is supported for circles and points only",
            line=call.name.line,
            column=call.name.column,
        )
    return _point(f"center({region.sql})")


type ParamSink = Callable[[object], str]
type _Handler = Callable[[FunctionCall, Sequence[Emitted], ParamSink], Emitted]

_HANDLERS: dict[str, _Handler] = {
    "AREA": _area,
    "BOX": _make_box,
    "CENTROID": _centroid,
    "CIRCLE": _make_circle,
    "CONTAINS": _predicate,
    "COORD1": _coordinate,
    "COORD2": _coordinate,
    "COORDSYS": _coordsys,
    "DISTANCE": _distance,
    "INTERSECTS": _predicate,
    "POINT": _make_point,
    "POLYGON": _make_polygon,
}

GEOMETRY_FUNCTIONS = frozenset(_HANDLERS)
"""Every geometry function a query may call."""


def call_geometry(
    call: FunctionCall, args: Sequence[Emitted], params: ParamSink
) -> Emitted:
    """Translate a call to a geometry function (arguments already translated)."""
    return _HANDLERS[call.name.name.upper()](call, args, params)


def geometry_output(value: Emitted) -> str:
    """SQL that turns a pgsphere value into its DALI form for a result column."""
    if value.geometry == "point":
        p = value.sql
        return f"ARRAY[degrees(long({p})), degrees(lat({p}))]"
    if value.geometry == "circle":
        c = value.sql
        return (
            f"ARRAY[degrees(long(center({c}))), degrees(lat(center({c}))),"
            f" degrees(radius({c}))]"
        )
    raise AdqlUnsupportedError(
        "Polygons and boxes can be used in conditions but not returned as columns"
    )
