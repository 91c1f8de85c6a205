"""Property tests: whatever text arrives, translate() answers SQL or AdqlError.

Random text, and random sequences of real ADQL vocabulary (which reach far
deeper into the grammar and the translator), must never raise anything but
:class:`AdqlError`; when they do translate, the SQL holds one statement and
every string of the query is a parameter.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rsp_tap.adql import AdqlError, translate
from rsp_tap.data.felis import load_catalog_schema
from rsp_tap.models.query import TranslatedQuery
from tap_adql_strategies import queries

SCHEMA = load_catalog_schema()

_VOCABULARY = [
    *[
        "SELECT",
        "TOP",
        "DISTINCT",
        "ALL",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "GROUP",
        "BY",
        "HAVING",
        "ORDER",
        "ASC",
        "DESC",
        "OFFSET",
        "AS",
        "JOIN",
        "INNER",
        "LEFT",
        "RIGHT",
        "FULL",
        "OUTER",
        "CROSS",
        "NATURAL",
        "ON",
        "USING",
        "IN",
        "EXISTS",
        "BETWEEN",
        "LIKE",
        "ILIKE",
        "IS",
        "NULL",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
        "CAST",
        "UNION",
        "EXCEPT",
        "INTERSECT",
        "WITH",
        "TRUE",
        "FALSE",
        "INTEGER",
        "VARCHAR",
        "DOUBLE",
        "PRECISION",
    ],
    *[
        "COUNT",
        "SUM",
        "AVG",
        "MIN",
        "MAX",
        "ABS",
        "SQRT",
        "ROUND",
        "MOD",
        "POWER",
        "LOWER",
        "UPPER",
        "COALESCE",
        "POINT",
        "CIRCLE",
        "BOX",
        "POLYGON",
        "CONTAINS",
        "INTERSECTS",
        "DISTANCE",
        "COORD1",
        "COORD2",
        "AREA",
        "COORDSYS",
        "CENTROID",
        "IN_UNIT",
        "PI",
        "RAND",
        "pg_sleep",
    ],
    *[
        "dp01_dc2_catalogs",
        "object",
        "truth_match",
        "position",
        "TAP_SCHEMA",
        "tables",
        "TAP_UPLOAD",
        "pg_catalog",
        "o",
        "t",
        "ra",
        "dec",
        "objectId",
        "mag_g",
        "mag_i",
        "tract",
        "patch",
        "good",
        "id",
        "coord_ra",
        "match_objectId",
        "table_name",
    ],
    *[
        "(",
        ")",
        ",",
        ".",
        "*",
        "+",
        "-",
        "/",
        "||",
        "=",
        "<>",
        "<",
        ">",
        "<=",
        ">=",
        "&",
        "|",
        "^",
        "~",
        ";",
        "--",
        "\n",
    ],
    "'ICRS'",
    "'a''b'",
    "'%x'",
    '"objectId"',
    '"ra"',
    "0",
    "1",
    "24",
    "-35.79",
    "61.863",
    "0.05",
    "1e3",
    "0x1F",
    "'2020-01-01'",
]

_PREFIXES = [
    "SELECT ra FROM object WHERE ",
    "SELECT TOP 5 o.ra, t.id FROM object AS o JOIN truth_match AS t ON ",
    "SELECT ",
    "",
]


def _check(translated: TranslatedQuery) -> None:
    assert ";" not in translated.sql
    assert "--" not in translated.sql
    assert "\x00" not in translated.sql
    numbers = {int(m) for m in re.findall(r"\$(\d+)", translated.sql)}
    assert numbers == set(range(1, len(translated.params) + 1))
    assert all(isinstance(p, str) for p in translated.params)
    assert len(translated.columns) >= 1


def _translate(adql: str) -> None:
    try:
        translated = translate(adql, SCHEMA)
    except AdqlError as error:
        message = error.message
    else:
        _check(translated)
        return
    assert message.strip()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_is_sql_or_adql_error(text: str) -> None:
    _translate(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_PREFIXES),
    st.lists(st.sampled_from(_VOCABULARY), max_size=30),
)
def test_random_adql_vocabulary_is_sql_or_adql_error(
    prefix: str, words: list[str]
) -> None:
    _translate(prefix + " ".join(words))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["ra", "mag_g", "tract", "patch", "objectId"]),
    st.sampled_from(["=", "<>", "<", ">=", "LIKE", "ILIKE"]),
    st.text(max_size=40),
)
def test_any_string_value_travels_as_a_parameter(
    column: str, op: str, value: str
) -> None:
    literal = "'" + value.replace("'", "''") + "'"
    try:
        translated = translate(
            f"SELECT ra FROM object WHERE {column} {op} {literal}", SCHEMA
        )
    except AdqlError:
        return
    _check(translated)
    assert translated.params == (value,)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_generated_adql_is_sql_or_adql_error(adql: str) -> None:
    _translate(adql)
