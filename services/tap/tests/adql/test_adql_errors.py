"""Bad queries: every one is an AdqlError with a message a user can act on.

Covers syntax errors, unknown names, what the service does not run, and
attempts to reach other schemas, write, or smuggle SQL through comments,
quotes and second statements.
"""

from __future__ import annotations

import pytest
from rsp_tap.adql import (
    AdqlError,
    AdqlReferenceError,
    AdqlSyntaxError,
    AdqlUnsupportedError,
    translate,
)
from rsp_tap.adql.parser import MAX_QUERY_LENGTH
from rsp_tap.models.schema import CatalogSchema

SYNTAX = [
    ("", "empty"),
    ("   \n  ", "empty"),
    ("SELECT", "ends too early"),
    ("SELECT ra FROM", "ends too early"),
    ("SELECT ra FROM object WHERE", "ends too early"),
    ("SELEC ra FROM object", "Unexpected 'SELEC'"),
    ("SELECT ra object", "ends too early"),
    ("SELECT ra FROM object WHERE ra >", "ends too early"),
    ("SELECT ra FROM object WHERE patch = 'open", "string is not closed"),
    ('SELECT "ra FROM object', "quoted name"),
    ('SELECT "" FROM object', "quoted name"),
    ("SELECT ra FROM object /* comment */", "comments start with --"),
    ("SELECT top FROM object", "Unexpected 'FROM'"),
    ("SELECT select FROM object", 'write "select"'),
    ("SELECT ra FROM object ORDER BY", "ends too early"),
    ("SELECT TOP -1 ra FROM object", "Unexpected '-'"),
    ("SELECT TOP 99999999999999999999 ra FROM object", "TOP is too large"),
    ("SELECT ra FROM object OFFSET 1.5", "Unexpected '1.5'"),
    ("SELECT ra FROM object WHERE ra > 1e999", "too large"),
    ("SELECT ra FROM object WHERE ra > 60 AND", "ends too early"),
    ("SELECT ra, FROM object", "FROM is a reserved word"),
    ("SELECT ra FROM object WHERE patch == 'a'", "Unexpected '='"),
    ("SELECT ra FROM object WHERE ra", "is not a condition"),
    ("SELECT ra FROM object WHERE mag_g + 1", "is not a condition"),
    ("SELECT ra FROM object WHERE ra = 'sixty'", "compare a number with a string"),
    ("SELECT ra FROM object LIMIT 10", "ADQL has no LIMIT: write SELECT TOP n"),
    ("SELECT ra FROM object WHERE patch LIKE 3", "LIKE and ILIKE compare strings"),
    ("SELECT patch + 1 FROM object", "applies to numbers"),
    ("SELECT ABS(patch) FROM object", "ABS expects numbers"),
    ("SELECT ABS(ra, dec) FROM object", "ABS takes 1 argument, not 2"),
    ("SELECT LOWER(ra) FROM object", "LOWER expects a string"),
    ("SELECT ROUND(ra, dec) FROM object", "must be a whole number"),
    ("SELECT SUM(*) FROM object", "only COUNT(*)"),
    ("SELECT ABS(DISTINCT ra) FROM object", "not an aggregate"),
    ("SELECT POINT('ICRS', ra) FROM object", "POINT takes"),
    ("SELECT CONTAINS(ra, dec) FROM object", "CONTAINS takes 2 geometries"),
    ("SELECT COORD1(ra) FROM object", "COORD1 takes a point"),
    ("SELECT POLYGON('ICRS', 1, 2, 3, 4) FROM object", "three vertices"),
    ("SELECT ra FROM object ORDER BY 3", "ORDER BY 3"),
    ("SELECT ra FROM object UNION SELECT ra, dec FROM object", "as many columns"),
    (
        "SELECT ra FROM object UNION SELECT ra FROM truth_match ORDER BY ra + 1",
        "column names or positions",
    ),
    ("SELECT ra FROM object WHERE ra IN (SELECT ra, dec FROM object)", "one column"),
    ("SELECT CASE WHEN ra > 1 THEN 'a' ELSE 2 END FROM object", "one kind"),
    ("SELECT CAST(ra AS INTEGER(3)) FROM object", "takes no length"),
    ("SELECT ~ra FROM object", "whole numbers"),
    ("SELECT ra & 1 FROM object", "whole numbers"),
    ("SELECT ra FROM position NATURAL JOIN truth_match", "no column in common"),
    ("SELECT ra, COUNT(*) FROM object", "Column ra must be in GROUP BY"),
    ("SELECT tract, ra FROM object GROUP BY tract", "Column ra must be in GROUP BY"),
    ("SELECT ra + 1, MAX(dec) FROM object GROUP BY dec", "Column ra must be in"),
    ("SELECT * FROM TAP_SCHEMA.schemas GROUP BY schema_name", "Column utype is"),
    ("SELECT o.ra FROM object AS o HAVING COUNT(*) > 1", "Column o.ra must be"),
    ("SELECT CIRCLE('ICRS', 1, 2, -1) FROM object", "between 0 and 90 degrees"),
    ("SELECT tract FROM object WHERE COUNT(*) > 1", "cannot be used in WHERE"),
    ("SELECT MAX(COUNT(*)) FROM object", "MAX cannot take another aggregate"),
    ("SELECT tract FROM object GROUP BY tract HAVING ra > 1", "Column ra must be"),
    ("SELECT tract FROM object GROUP BY tract ORDER BY dec", "Column dec must be"),
    ("SELECT DISTINCT tract FROM object ORDER BY ra", "With SELECT DISTINCT"),
    ("SELECT MAX(ra) FROM object GROUP BY MIN(dec)", "cannot be used in GROUP BY"),
    (
        "SELECT o.ra FROM object AS o JOIN truth_match AS t ON MAX(t.ra) > o.ra",
        "cannot be used in ON",
    ),
    ("SELECT CIRCLE('ICRS', 1, 2, 91) FROM object", "between 0 and 90 degrees"),
]

REFERENCE = [
    ("SELECT ra FROM nowhere", "Table nowhere does not exist"),
    ("SELECT ra FROM objects", "did you mean dp01_dc2_catalogs.object"),
    ("SELECT nothing FROM object", "Column nothing does not exist"),
    ('SELECT ra FROM object WHERE patch = "1,1"', "in 'single quotes'"),
    ("SELECT mag_gg FROM object", "did you mean mag_g"),
    ("SELECT ra FROM object, truth_match", "Column ra is ambiguous"),
    ("SELECT x.ra FROM object", "x is not a table of this query"),
    ("SELECT x.* FROM object", "x is not a table of this query"),
    ("SELECT object.ra FROM object AS o", "object is not a table of this query"),
    ("SELECT ra FROM object, object", "appears twice"),
    ("SELECT o.ra FROM object AS o, truth_match AS o", "appears twice"),
    ("SELECT FOO(ra) FROM object", "Function FOO does not exist"),
    ('SELECT "ABS"(ra) FROM object', "Unexpected"),
    ("SELECT ra FROM position JOIN reference USING (nothing)", "Join column"),
    ("SELECT ra FROM pg_catalog.pg_user", "Schema pg_catalog cannot be queried"),
    ("SELECT * FROM information_schema.tables", "information_schema cannot"),
    ("SELECT * FROM public.object", "Schema public cannot be queried"),
    ("SELECT * FROM pg_temp.tap_upload_x", "Schema pg_temp cannot be queried"),
    ("SELECT * FROM TAP_UPLOAD.missing", "Table TAP_UPLOAD.missing does not exist"),
    ("SELECT * FROM pg_user", "Table pg_user does not exist"),
    ("SELECT * FROM tap_schema.pg_tables", "does not exist"),
    ('SELECT * FROM "TAP_SCHEMA"."Tables"', "does not exist"),
]

UNSUPPORTED = [
    ("SELECT ra FROM db.dp01_dc2_catalogs.object", "Catalog names are not used"),
    ("SELECT a.b.c.d FROM object", "Catalog names are not used"),
    ("SELECT RAND(42) FROM object", "RAND with a seed"),
    ("SELECT CAST(ra AS POINT) FROM object", "CAST to POINT is not supported"),
    ("SELECT CAST(POINT('ICRS', ra, dec) AS VARCHAR) FROM object", "cannot be cast"),
    ("SELECT POINT('GALACTIC', ra, dec) FROM object", "'GALACTIC' is not supported"),
    (
        "SELECT ra FROM object WHERE CONTAINS(CIRCLE('ICRS', 1, 2, 3),"
        " POINT('ICRS', ra, dec)) = 1",
        "a point contains nothing",
    ),
    ("SELECT POLYGON('ICRS', 1, 2, 3, 4, 5, 6) FROM object", "Polygons and boxes"),
    ("SELECT CENTROID(POLYGON('ICRS', 1, 2, 3, 4, 5, 6)) FROM object", "CENTROID"),
    ("SELECT IN_UNIT(tract, 'm') FROM object", "unit is known"),
    ("SELECT IN_UNIT(ra, 'kg') FROM object", "Cannot convert deg to kg"),
    ("SELECT " + "ABS(" * 3000 + "ra" + ")" * 3000 + " FROM object", "too deeply"),
]

INJECTION = [
    ("SELECT ra FROM object; DROP TABLE object", "Only one query"),
    ("SELECT ra FROM object;; DROP TABLE object", "Only one query"),
    ("SELECT ra FROM object; -- x\nDELETE FROM object", "Only one query"),
    ("SELECT ra FROM object -- ; DROP TABLE object\n; DROP TABLE object", "one query"),
    ("DROP TABLE dp01_dc2_catalogs.object", "Unexpected 'DROP'"),
    ("DELETE FROM dp01_dc2_catalogs.object", "Unexpected 'DELETE'"),
    ("INSERT INTO object VALUES (1)", "Unexpected 'INSERT'"),
    ("UPDATE object SET ra = 0", "Unexpected 'UPDATE'"),
    ("CREATE TABLE x (a int)", "Unexpected 'CREATE'"),
    ("TRUNCATE object", "Unexpected 'TRUNCATE'"),
    ("COPY object TO '/tmp/x'", "Unexpected 'COPY'"),
    ("SET statement_timeout = 0", "Unexpected 'SET'"),
    ("SELECT ra FROM object WHERE patch = ''; DROP TABLE object; --'", "one query"),
    ("SELECT ra FROM object WHERE patch = '\\'; DROP TABLE object; --'", "one query"),
    ('SELECT "ra"";DROP TABLE object;--" FROM object', "does not exist"),
    ('SELECT ra FROM "object; DROP TABLE object"', "does not exist"),
    ("SELECT pg_sleep(10) FROM object", "Function pg_sleep does not exist"),
    ("SELECT version() FROM object", "Function version does not exist"),
    ("SELECT current_setting('x') FROM object", "does not exist"),
    ("SELECT lo_import('/etc/passwd') FROM object", "does not exist"),
    ("SELECT set_config('a', 'b', false) FROM object", "does not exist"),
    ("SELECT current_user FROM object", "Column current_user does not exist"),
    ("SELECT ra FROM object UNION SELECT usename FROM pg_user", "pg_user"),
    ("SELECT ra FROM object WHERE patch = $1", "Unexpected character '$'"),
    ("SELECT ra FROM object WHERE patch = $$x$$", "Unexpected character '$'"),
    ("SELECT ra::text FROM object", "Unexpected character ':'"),
    ("SELECT ra FROM object WHERE patch = E'\\x27'", "Unexpected"),
    ("SELECT ra FROM object\x00; DROP TABLE object", "NUL"),
    ("SELECT ra FROM object WHERE ra > 1 /*", "comments start with --"),
    ("SELECT ra FROM object \\g", "Unexpected character"),
    ("SELECT ra FROM object WHERE patch = U&'\\0027'", "Column U does not"),
    ("SELECT * FROM object WHERE ra > (SELECT 1 FROM pg_shadow)", "pg_shadow"),
    ("WITH x AS (DELETE FROM object) SELECT 1 FROM x", "Unexpected 'DELETE'"),
    ("SELECT ra FROM object FOR UPDATE", "Unexpected 'UPDATE'"),
    ("SELECT ra INTO newtable FROM object", "Unexpected 'newtable'"),
    ("EXPLAIN ANALYZE SELECT ra FROM object", "Unexpected 'EXPLAIN'"),
]


@pytest.mark.parametrize(("adql", "message"), SYNTAX)
def test_syntax_errors(adql: str, message: str, schema: CatalogSchema) -> None:
    with pytest.raises(AdqlSyntaxError, match=_escaped(message)):
        translate(adql, schema)


@pytest.mark.parametrize(("adql", "message"), REFERENCE)
def test_reference_errors(adql: str, message: str, schema: CatalogSchema) -> None:
    with pytest.raises((AdqlReferenceError, AdqlSyntaxError), match=_escaped(message)):
        translate(adql, schema)


@pytest.mark.parametrize(("adql", "message"), UNSUPPORTED)
def test_unsupported(adql: str, message: str, schema: CatalogSchema) -> None:
    with pytest.raises(AdqlUnsupportedError, match=_escaped(message)):
        translate(adql, schema)


@pytest.mark.parametrize(("adql", "message"), INJECTION)
def test_injection_attempts_are_refused(
    adql: str, message: str, schema: CatalogSchema
) -> None:
    with pytest.raises(AdqlError, match=_escaped(message)):
        translate(adql, schema)


def test_errors_carry_line_and_column(schema: CatalogSchema) -> None:
    with pytest.raises(AdqlReferenceError) as caught:
        translate("SELECT ra,\n  nothing\nFROM object", schema)
    assert (caught.value.line, caught.value.column) == (2, 3)
    assert str(caught.value).endswith("(line 2, column 3)")
    with pytest.raises(AdqlSyntaxError) as syntax:
        translate("SELECT ra\nFROM object\nWHERE ra > 1 ; DROP TABLE x", schema)
    assert (syntax.value.line, syntax.value.column) == (3, 16)


def test_too_long_a_query(schema: CatalogSchema) -> None:
    adql = "SELECT ra FROM object WHERE ra > 1" + " " * MAX_QUERY_LENGTH
    with pytest.raises(AdqlSyntaxError, match="longer than"):
        translate(adql, schema)


def test_reserved_word_can_be_delimited(schema: CatalogSchema) -> None:
    with pytest.raises(AdqlReferenceError, match='Column "select" does not exist'):
        translate('SELECT "select" FROM object', schema)


def test_quote_tricks_stay_in_parameters(schema: CatalogSchema) -> None:
    tricky = "x'; DROP TABLE object; --"
    escaped = tricky.replace("'", "''")
    translated = translate(f"SELECT ra FROM object WHERE patch = '{escaped}'", schema)
    assert translated.params == (tricky,)
    assert "DROP" not in translated.sql
    assert ";" not in translated.sql


def test_comments_hide_nothing(schema: CatalogSchema) -> None:
    translated = translate(
        "SELECT ra -- , (SELECT usename FROM pg_user)\nFROM object -- ; DROP TABLE x",
        schema,
    )
    assert translated.sql == 'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1'


def _escaped(message: str) -> str:
    import re  # noqa: PLC0415

    return re.escape(message)
