"""Hypothesis strategies that write plausible ADQL over dp01_dc2_catalogs.object.

Unlike random text, these reach deep into the translator: nested arithmetic,
functions, geometry, conditions, aggregates, DISTINCT, TOP, ORDER BY and
OFFSET, over real column names. Some queries are wrong on purpose (a string
function on a number, an ungrouped column): those must be AdqlErrors.
"""

from __future__ import annotations

from hypothesis import strategies as st

NUMBER_COLUMNS = ["ra", "dec", "mag_g", "mag_i", "tract", "o.ra", "objectId"]
STRING_COLUMNS = ["patch", "o.patch"]
FLAG_COLUMNS = ["good", "clean"]

_numbers = st.one_of(
    st.sampled_from(NUMBER_COLUMNS),
    st.integers(-100, 100).map(str),
    st.floats(-100, 100, allow_nan=False).map(lambda f: repr(round(f, 3))),
)
_strings = st.one_of(
    st.sampled_from(STRING_COLUMNS),
    st.text(alphabet="ab,%'_1 ", max_size=5).map(
        lambda s: "'" + s.replace("'", "''") + "'"
    ),
)
_points = st.builds(lambda a, b: f"POINT('ICRS', {a}, {b})", _numbers, _numbers)
_radii = st.floats(0, 5, allow_nan=False).map(lambda f: repr(round(f, 4)))


def _numeric(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = st.sampled_from(
        [
            "ABS",
            "CEILING",
            "FLOOR",
            "DEGREES",
            "RADIANS",
            "SIN",
            "COS",
            "ATAN",
            "ROUND",
            "TRUNCATE",
            "EXP",
            "SQRT",
            "LOG10",
        ]
    )
    return st.one_of(
        st.builds(
            lambda a, op, b: f"({a} {op} {b})",
            inner,
            st.sampled_from(["+", "-", "*", "/"]),
            inner,
        ),
        st.builds(lambda f, a: f"{f}({a})", unary, inner),
        st.builds(
            lambda f, a, b: f"{f}({a}, {b})",
            st.sampled_from(["ATAN2", "POWER", "MOD"]),
            inner,
            inner,
        ),
        st.builds(lambda a: f"ROUND({a}, 2)", inner),
        st.builds(lambda a, b: f"COALESCE({a}, {b})", inner, inner),
        st.builds(lambda p, q: f"DISTANCE({p}, {q})", _points, _points),
        st.builds(lambda p: f"COORD2({p})", _points),
        st.builds(
            lambda a, b, c: f"CASE WHEN {a} > {b} THEN {a} ELSE {c} END",
            inner,
            inner,
            inner,
        ),
        st.builds(
            lambda a, t: f"CAST({a} AS {t})",
            inner,
            st.sampled_from(["INTEGER", "BIGINT", "REAL", "DOUBLE PRECISION"]),
        ),
        st.just("PI()"),
        st.builds(lambda a: f"-{a}", inner),
    )


numbers = st.recursive(_numbers, _numeric, max_leaves=6)
strings = st.recursive(
    _strings,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} || {b}", inner, inner),
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["LOWER", "UPPER"]), inner),
        st.builds(lambda a: f"CAST({a} AS VARCHAR(12))", numbers),
    ),
    max_leaves=4,
)
_simple_conditions = st.one_of(
    st.builds(
        lambda a, op, b: f"{a} {op} {b}",
        numbers,
        st.sampled_from(["=", "<>", "<", ">", "<=", ">="]),
        numbers,
    ),
    st.builds(
        lambda a, op, b: f"{a} {op} {b}",
        strings,
        st.sampled_from(["=", "<>", "LIKE", "NOT LIKE", "ILIKE"]),
        strings,
    ),
    st.builds(lambda a, b, c: f"{a} BETWEEN {b} AND {c}", numbers, numbers, numbers),
    st.builds(
        lambda a, items: f"{a} IN ({', '.join(items)})",
        numbers,
        st.lists(numbers, min_size=1, max_size=3),
    ),
    st.builds(lambda a: f"{a} IS NOT NULL", numbers),
    st.builds(
        lambda p, a, b, r: f"CONTAINS({p}, CIRCLE('ICRS', {a}, {b}, {r})) = 1",
        _points,
        _numbers,
        _numbers,
        _radii,
    ),
    st.builds(
        lambda p, a, b, r: f"INTERSECTS(CIRCLE('ICRS', {a}, {b}, {r}), {p}) = 1",
        _points,
        _numbers,
        _numbers,
        _radii,
    ),
    st.builds(lambda p, q, r: f"DISTANCE({p}, {q}) < {r}", _points, _points, _radii),
    st.sampled_from(
        [
            *FLAG_COLUMNS,
            "good = 1",
            "clean = 0",
            "EXISTS (SELECT 1 FROM dp01_dc2_catalogs.truth_match AS t"
            " WHERE t.match_objectId = o.objectId)",
            "o.objectId IN (SELECT match_objectId FROM dp01_dc2_catalogs.truth_match)",
        ]
    ),
)
conditions = st.recursive(
    _simple_conditions,
    lambda inner: st.one_of(
        st.builds(
            lambda a, op, b: f"({a} {op} {b})",
            inner,
            st.sampled_from(["AND", "OR"]),
            inner,
        ),
        st.builds(lambda a: f"NOT ({a})", inner),
    ),
    max_leaves=4,
)
_items = st.one_of(
    numbers,
    strings,
    _points,
    st.sampled_from(["COUNT(*)", "MAX(mag_g)", "AVG(ra)", "SUM(tract)", "MIN(patch)"]),
)
queries = st.builds(
    lambda top, distinct, items, where, order: (
        f"SELECT {distinct}{top}{', '.join(items)}"
        f" FROM dp01_dc2_catalogs.object AS o{where}{order}"
    ),
    st.sampled_from(["", "TOP 5 "]),
    st.sampled_from(["", "DISTINCT "]),
    st.lists(_items, min_size=1, max_size=3),
    st.one_of(st.just(""), conditions.map(lambda c: f" WHERE {c}")),
    st.sampled_from(["", " ORDER BY 1", " ORDER BY 1 DESC OFFSET 2"]),
)
"""Whole queries over the object table."""
