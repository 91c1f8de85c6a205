"""The translator reads ``object`` from its narrow projection when it can.

A table instance is read from the projection when every column the query
takes from it (anywhere: select list, WHERE, GROUP BY, HAVING, ORDER BY,
ON, USING, subqueries, geometry functions) is in the projection; from the
table otherwise. Nothing a query says can name the projection's schema.
"""

from __future__ import annotations

import re

import pytest
from rsp_tap.adql import AdqlError, translate, translate_cached
from rsp_tap.data.narrow import NARROW_COLUMNS
from rsp_tap.models.narrow import NO_NARROW_TABLES, NarrowTable, NarrowTables
from rsp_tap.models.query import UploadTable
from rsp_tap.models.schema import CatalogSchema

WIDE = '"dp01_dc2_catalogs"."object"'
NARROW = '"dp01_dc2_catalogs_narrow"."object"'
OBJECT = "dp01_dc2_catalogs.object"
TRUTH = "dp01_dc2_catalogs.truth_match"
CONE = "CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 62, -35, 0.1)) = 1"

PROJECTIONS = NarrowTables(
    (
        NarrowTable(
            schema_name="dp01_dc2_catalogs",
            table_name="object",
            sql=NARROW,
            columns=frozenset(NARROW_COLUMNS["object"]),
        ),
    )
)


def _tables(sql: str) -> list[str]:
    """The tables of the SQL, in order, as ``narrow`` or ``wide`` per alias."""
    found = re.findall(r'("dp01_dc2_catalogs(?:_narrow)?"\."object") AS (t\d+)', sql)
    return [("narrow" if name == NARROW else "wide") for name, _ in found]


def _routed(adql: str, schema: CatalogSchema, **kwargs: object) -> list[str]:
    query = translate(adql, schema, narrow=PROJECTIONS, **kwargs)  # type: ignore[arg-type]
    assert "\x01" not in query.sql
    assert "\x00" not in query.sql
    return _tables(query.sql)


@pytest.mark.parametrize(
    "adql",
    [
        # The benchmark's cone: ra and dec inside POINT, twelve columns out.
        f"SELECT objectId, ra, dec, mag_g, mag_r, mag_i, magerr_g, magerr_r,"
        f" magerr_i, extendedness, good, clean FROM {OBJECT} WHERE {CONE}",
        f"SELECT TOP 10 objectId FROM {OBJECT} WHERE {CONE} ORDER BY mag_r DESC",
        f"SELECT COUNT(*) FROM {OBJECT}",
        f"SELECT COUNT(*) AS n, AVG(mag_r), MIN(dec), MAX(dec) FROM {OBJECT}",
        f"SELECT good, COUNT(*) FROM {OBJECT} GROUP BY good HAVING MAX(mag_u) > 20",
        f"SELECT o.objectId FROM {OBJECT} AS o WHERE o.mag_g - o.mag_r"
        " BETWEEN 0.2 AND 0.5 AND o.clean = 1",
        f"SELECT DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 62, -35))"
        f" FROM {OBJECT} WHERE 1 = CONTAINS(POINT('ICRS', ra, dec),"
        " CIRCLE('ICRS', 62, -35, 1))",
        f"SELECT POINT('ICRS', ra, dec) AS p FROM {OBJECT}",
        f"SELECT objectId FROM {OBJECT} WHERE mag_y IS NULL OR magerr_z > 1",
        f"SELECT {OBJECT}.objectId FROM {OBJECT}",
        f'SELECT "objectId", "parentObjectId" FROM {OBJECT}',
        f"SELECT objectId FROM {OBJECT} WHERE objectId IN (1, 2, 3)",
        f"SELECT MAX(extendedness) FROM {OBJECT} WHERE good = 1",
    ],
)
def test_narrow_when_every_column_is_in_it(adql: str, schema: CatalogSchema) -> None:
    assert _routed(adql, schema) == ["narrow"]


@pytest.mark.parametrize(
    "adql",
    [
        f"SELECT * FROM {OBJECT}",
        f"SELECT o.* FROM {OBJECT} AS o WHERE {CONE}",
        f"SELECT TOP 5 o.*, o.ra FROM {OBJECT} AS o",
        f"SELECT objectId, tract FROM {OBJECT}",
        f"SELECT objectId FROM {OBJECT} WHERE blendedness > 0.1",
        f"SELECT objectId FROM {OBJECT} WHERE {CONE} ORDER BY psFlux_g",
        f"SELECT patch, COUNT(*) FROM {OBJECT} GROUP BY patch",
        f"SELECT good, COUNT(*) FROM {OBJECT} GROUP BY good HAVING MAX(x) > 1",
        f"SELECT AVG(mag_g_cModel) FROM {OBJECT}",
        f"SELECT objectId FROM {OBJECT} WHERE CONTAINS(POINT('ICRS', ra, dec),"
        " CIRCLE('ICRS', x, y, 1)) = 1",
        f'SELECT "I_flag" FROM {OBJECT}',
    ],
)
def test_wide_when_a_column_is_not_in_it(adql: str, schema: CatalogSchema) -> None:
    assert _routed(adql, schema) == ["wide"]


def test_self_join_decides_per_instance(schema: CatalogSchema) -> None:
    adql = (
        f"SELECT c.objectId, p.blendedness FROM {OBJECT} AS c"
        f" JOIN {OBJECT} AS p ON c.parentObjectId = p.objectId"
    )
    assert _routed(adql, schema) == ["narrow", "wide"]
    adql = (
        f"SELECT c.objectId, c.tract FROM {OBJECT} AS c"
        f" JOIN {OBJECT} AS p ON c.parentObjectId = p.objectId WHERE p.mag_r < 20"
    )
    assert _routed(adql, schema) == ["wide", "narrow"]


def test_join_condition_columns_count(schema: CatalogSchema) -> None:
    on = (
        f"SELECT t.id FROM {TRUTH} AS t JOIN {OBJECT} AS o"
        " ON t.match_objectId = o.objectId"
    )
    assert _routed(on, schema) == ["narrow"]
    wide_on = (
        f"SELECT t.id FROM {TRUTH} AS t JOIN {OBJECT} AS o"
        " ON t.match_objectId = o.objectId AND t.tract = o.tract"
    )
    assert _routed(wide_on, schema) == ["wide"]
    # USING ra, dec, mag_r: all in the projection; NATURAL joins on tract too.
    using = f"SELECT t.id FROM {TRUTH} AS t JOIN {OBJECT} AS o USING (ra, dec, mag_r)"
    assert _routed(using, schema) == ["narrow"]
    natural = f"SELECT objectId FROM {OBJECT} NATURAL JOIN {TRUTH}"
    assert _routed(natural, schema) == ["wide"]
    left = (
        f"SELECT t.id, o.mag_r FROM {TRUTH} AS t LEFT OUTER JOIN {OBJECT} AS o"
        " ON t.match_objectId = o.objectId"
    )
    assert _routed(left, schema) == ["narrow"]


def test_subqueries_and_correlated_references(schema: CatalogSchema) -> None:
    inner = (
        f"SELECT t.id FROM {TRUTH} AS t WHERE t.match_objectId IN"
        f" (SELECT objectId FROM {OBJECT} WHERE mag_r < 21)"
    )
    assert _routed(inner, schema) == ["narrow"]
    correlated_ok = (
        f"SELECT o.objectId FROM {OBJECT} AS o WHERE EXISTS (SELECT 1 FROM"
        f" {TRUTH} AS t WHERE t.match_objectId = o.objectId AND t.mag_r < o.mag_r)"
    )
    assert _routed(correlated_ok, schema) == ["narrow"]
    # The outer object's tract is used only inside the subquery: still wide.
    correlated_wide = (
        f"SELECT o.objectId FROM {OBJECT} AS o WHERE EXISTS (SELECT 1 FROM"
        f" {TRUTH} AS t WHERE t.match_objectId = o.objectId AND t.tract = o.tract)"
    )
    assert _routed(correlated_wide, schema) == ["wide"]
    scalar = (
        f"SELECT o.objectId, (SELECT MAX(p.x) FROM {OBJECT} AS p"
        f" WHERE p.parentObjectId = o.objectId) FROM {OBJECT} AS o"
    )
    assert _routed(scalar, schema) == ["wide", "narrow"]
    derived = (
        f"SELECT s.objectId FROM (SELECT objectId, mag_r FROM {OBJECT}"
        " WHERE good = 1) AS s WHERE s.mag_r < 20"
    )
    assert _routed(derived, schema) == ["narrow"]
    derived_star = f"SELECT s.objectId FROM (SELECT * FROM {OBJECT}) AS s"
    assert _routed(derived_star, schema) == ["wide"]
    common = (
        f"WITH bright AS (SELECT objectId, ra, dec FROM {OBJECT} WHERE mag_r < 20)"
        " SELECT COUNT(*) FROM bright"
    )
    assert _routed(common, schema) == ["narrow"]
    union = (
        f"SELECT objectId FROM {OBJECT} WHERE mag_r < 18 UNION"
        f" SELECT objectId FROM {OBJECT} WHERE tract = 4850"
    )
    assert _routed(union, schema) == ["narrow", "wide"]


def test_uploads_join_the_projection(
    schema: CatalogSchema, upload: UploadTable
) -> None:
    adql = (
        f"SELECT u.id, o.objectId FROM TAP_UPLOAD.mine AS u JOIN {OBJECT} AS o"
        " ON 1 = CONTAINS(POINT('ICRS', o.ra, o.dec),"
        " CIRCLE('ICRS', u.ra, u.dec, 0.01))"
    )
    assert _routed(adql, schema, uploads=[upload]) == ["narrow"]


def test_without_projections_nothing_is_routed(schema: CatalogSchema) -> None:
    adql = f"SELECT objectId, ra FROM {OBJECT} WHERE {CONE}"
    assert _tables(translate(adql, schema).sql) == ["wide"]
    assert _tables(translate(adql, schema, narrow=NO_NARROW_TABLES).sql) == ["wide"]


def test_same_result_metadata_either_way(schema: CatalogSchema) -> None:
    adql = f"SELECT objectId, ra, mag_r AS r, good FROM {OBJECT} WHERE {CONE}"
    wide = translate(adql, schema)
    narrow = translate(adql, schema, narrow=PROJECTIONS)
    assert narrow.columns == wide.columns
    assert narrow.params == wide.params
    assert narrow.limit == wide.limit
    assert narrow.sql == wide.sql.replace(WIDE, NARROW)


def test_cache_keeps_routed_and_plain_translations_apart(
    schema: CatalogSchema,
) -> None:
    adql = f"SELECT objectId FROM {OBJECT} WHERE mag_r < 19.123456"
    plain = translate_cached(adql, schema)
    routed = translate_cached(adql, schema, narrow=PROJECTIONS)
    assert _tables(plain.sql) == ["wide"]
    assert _tables(routed.sql) == ["narrow"]
    assert _tables(translate_cached(adql, schema).sql) == ["wide"]


@pytest.mark.parametrize(
    "adql",
    [
        "SELECT objectId FROM dp01_dc2_catalogs_narrow.object",
        'SELECT objectId FROM "dp01_dc2_catalogs_narrow"."object"',
        'SELECT objectId FROM "dp01_dc2_catalogs_narrow.object"',
        'SELECT objectId FROM "dp01_dc2_catalogs"."dp01_dc2_catalogs_narrow.object"',
        "SELECT objectId FROM dp01_dc2_catalogs_narrow_build.object",
        'SELECT objectId FROM "dp01_dc2_catalogs_narrow"."object" AS o',
        "SELECT objectId FROM object_narrow",
        'SELECT "dp01_dc2_catalogs_narrow".object.ra FROM dp01_dc2_catalogs.object',
    ],
)
def test_the_projection_cannot_be_named(adql: str, schema: CatalogSchema) -> None:
    with pytest.raises(AdqlError):
        translate(adql, schema, narrow=PROJECTIONS)


@pytest.mark.parametrize(
    "text",
    ["\x010\x01", '"dp01_dc2_catalogs_narrow"."object"', "\x01", "\x00"],
)
def test_user_text_never_becomes_a_table(text: str, schema: CatalogSchema) -> None:
    """Strings are parameters; control characters outside them are refused."""
    literal = text.replace("'", "''")
    adql = f"SELECT objectId, '{literal}' AS s FROM {OBJECT} WHERE '{literal}' = ''"
    if "\x00" in text:
        with pytest.raises(AdqlError):
            translate(adql, schema, narrow=PROJECTIONS)
        return
    query = translate(adql, schema, narrow=PROJECTIONS)
    assert text in query.params
    harmless = translate(adql.replace(literal, "x"), schema, narrow=PROJECTIONS)
    assert query.sql == harmless.sql
    assert _tables(query.sql) == ["narrow"]
    with pytest.raises(AdqlError):
        translate(
            f"SELECT objectId AS {text} FROM {OBJECT}", schema, narrow=PROJECTIONS
        )
    delimited = text.replace('"', '""')
    with pytest.raises(AdqlError):
        translate(f'SELECT "{delimited}" FROM {OBJECT}', schema, narrow=PROJECTIONS)
    aliased = translate(
        f'SELECT objectId AS "{delimited}" FROM {OBJECT}', schema, narrow=PROJECTIONS
    )
    assert aliased.sql == f'SELECT t1."objectId" FROM {NARROW} AS t1'
    assert aliased.columns[0].name == text
