# ruff: noqa: E501 (golden SQL strings are kept on one line to compare them whole)
"""ADQL -> SQL golden translations over the real DP0.1 schema.

Each case was checked by hand when added; a change in output must be a
deliberate one. The SQL contains no text of the query other than numbers:
names come from the schema, strings are parameters.
"""

from __future__ import annotations

import pytest
from rsp_tap.adql import translate
from rsp_tap.models.query import UploadTable
from rsp_tap.models.schema import CatalogSchema

GOLDEN = [
    pytest.param(
        "SELECT TOP 5 * FROM TAP_SCHEMA.schemas",
        'SELECT t1."schema_name", t1."utype", t1."description", t1."schema_index" FROM "TAP_SCHEMA"."schemas" AS t1 LIMIT 5',
        (),
        id="SELECT TOP 5 * FROM TAP_SCHEMA.schemas",
    ),
    pytest.param(
        "SELECT DISTINCT tract FROM dp01_dc2_catalogs.object",
        'SELECT DISTINCT t1."tract" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT DISTINCT tract FROM dp01_dc2_catalogs.object",
    ),
    pytest.param(
        "SELECT ALL tract, patch FROM object",
        'SELECT t1."tract", t1."patch" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT ALL tract, patch FROM object",
    ),
    pytest.param(
        'SELECT objectid, OBJECTID AS again, "objectId" FROM object',
        'SELECT t1."objectId", t1."objectId" AS "c2", t1."objectId" AS "c3" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id='SELECT objectid, OBJECTID AS again, "objectId" FROM object',
    ),
    pytest.param(
        "SELECT o.ra FROM dp01_dc2_catalogs.object AS o WHERE o.objectId = 5",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."objectId" = 5',
        (),
        id="SELECT o.ra FROM dp01_dc2_catalogs.object AS o WHERE o.objec",
    ),
    pytest.param(
        "SELECT dp01_dc2_catalogs.object.ra FROM dp01_dc2_catalogs.object",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT dp01_dc2_catalogs.object.ra FROM dp01_dc2_catalogs.ob",
    ),
    pytest.param(
        "SELECT ra, dec FROM object ORDER BY ra DESC, dec OFFSET 10",
        'SELECT t1."ra", t1."dec" FROM "dp01_dc2_catalogs"."object" AS t1 ORDER BY 1 DESC, 2 ASC OFFSET 10',
        (),
        id="SELECT ra, dec FROM object ORDER BY ra DESC, dec OFFSET 10",
    ),
    pytest.param(
        "SELECT ra AS r FROM object ORDER BY r",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 ORDER BY 1 ASC',
        (),
        id="SELECT ra AS r FROM object ORDER BY r",
    ),
    pytest.param(
        "SELECT ra + dec, ra - 1, ra * 2.5, ra / 3, -ra, tract * 2 FROM object",
        'SELECT CAST(t1."ra" + t1."dec" AS double precision) AS "c1", CAST(t1."ra" - 1 AS double precision) AS "c2", CAST(t1."ra" * 2.5 AS double precision) AS "c3", CAST(t1."ra" / 3 AS double precision) AS "c4", CAST(-t1."ra" AS double precision) AS "c5", CAST(t1."tract" * 2 AS bigint) AS "c6" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT ra + dec, ra - 1, ra * 2.5, ra / 3, -ra, tract * 2 FR",
    ),
    pytest.param(
        "SELECT tract & 3, tract | 4, tract ^ 1, ~tract FROM object",
        'SELECT CAST(t1."tract" & 3 AS bigint) AS "c1", CAST(t1."tract" | 4 AS bigint) AS "c2", CAST(t1."tract" # 1 AS bigint) AS "c3", CAST(~t1."tract" AS bigint) AS "c4" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT tract & 3, tract | 4, tract ^ 1, ~tract FROM object",
    ),
    pytest.param(
        "SELECT 1, 2.5, 1e3, 0x1F, 'text', NULL FROM object",
        'SELECT CAST(1 AS bigint) AS "c1", CAST(2.5 AS double precision) AS "c2", CAST(1000.0 AS double precision) AS "c3", CAST(31 AS bigint) AS "c4", $1::text AS "c5", NULL AS "c6" FROM "dp01_dc2_catalogs"."object" AS t1',
        ("text",),
        id="SELECT 1, 2.5, 1e3, 0x1F, 'text', NULL FROM object",
    ),
    pytest.param(
        "SELECT id || '-' || patch FROM truth_match",
        'SELECT (t1."id" || $1::text) || t1."patch" AS "c1" FROM "dp01_dc2_catalogs"."truth_match" AS t1',
        ("-",),
        id="SELECT id || '-' || patch FROM truth_match",
    ),
    pytest.param(
        "SELECT LOWER(patch), UPPER(id) FROM truth_match",
        'SELECT lower(t1."patch") AS "c1", upper(t1."id") AS "c2" FROM "dp01_dc2_catalogs"."truth_match" AS t1',
        (),
        id="SELECT LOWER(patch), UPPER(id) FROM truth_match",
    ),
    pytest.param(
        "SELECT ABS(ra), CEILING(ra), FLOOR(ra), DEGREES(ra), RADIANS(ra), EXP(ra), LOG(ra), LOG10(ra), SQRT(ra) FROM object",
        'SELECT CAST(abs(t1."ra") AS double precision) AS "c1", CAST(ceiling(t1."ra") AS double precision) AS "c2", CAST(floor(t1."ra") AS double precision) AS "c3", CAST(degrees(t1."ra") AS double precision) AS "c4", CAST(radians(t1."ra") AS double precision) AS "c5", CAST(exp(t1."ra") AS double precision) AS "c6", CAST(ln(t1."ra") AS double precision) AS "c7", CAST(log(t1."ra") AS double precision) AS "c8", CAST(sqrt(t1."ra") AS double precision) AS "c9" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT ABS(ra), CEILING(ra), FLOOR(ra), DEGREES(ra), RADIANS",
    ),
    pytest.param(
        "SELECT SIN(ra), COS(ra), TAN(ra), COT(ra), ASIN(ra), ACOS(ra), ATAN(ra), ATAN2(ra, dec) FROM object",
        'SELECT CAST(sin(t1."ra") AS double precision) AS "c1", CAST(cos(t1."ra") AS double precision) AS "c2", CAST(tan(t1."ra") AS double precision) AS "c3", CAST(cot(t1."ra") AS double precision) AS "c4", CAST(asin(t1."ra") AS double precision) AS "c5", CAST(acos(t1."ra") AS double precision) AS "c6", CAST(atan(t1."ra") AS double precision) AS "c7", CAST(atan2(t1."ra", t1."dec") AS double precision) AS "c8" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT SIN(ra), COS(ra), TAN(ra), COT(ra), ASIN(ra), ACOS(ra",
    ),
    pytest.param(
        "SELECT MOD(tract, 3), MOD(ra, 3), POWER(ra, 2), PI(), RAND(), ROUND(ra), ROUND(ra, 2), TRUNCATE(ra), TRUNCATE(ra, -1) FROM object",
        'SELECT CAST(mod(t1."tract", 3) AS bigint) AS "c1", CAST(mod(CAST(t1."ra" AS numeric), CAST(3 AS numeric)) AS double precision) AS "c2", CAST(power(t1."ra", 2) AS double precision) AS "c3", pi() AS "c4", random() AS "c5", CAST(round(t1."ra") AS double precision) AS "c6", CAST(round(CAST(t1."ra" AS numeric), 2) AS double precision) AS "c7", CAST(trunc(t1."ra") AS double precision) AS "c8", CAST(trunc(CAST(t1."ra" AS numeric), -1) AS double precision) AS "c9" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT MOD(tract, 3), MOD(ra, 3), POWER(ra, 2), PI(), RAND()",
    ),
    pytest.param(
        "SELECT COUNT(*), COUNT(DISTINCT tract), SUM(tract), SUM(mag_g), AVG(mag_g), MIN(ra), MAX(patch) FROM object",
        'SELECT count(*) AS "c1", count(DISTINCT t1."tract") AS "c2", CAST(sum(t1."tract") AS bigint) AS "c3", CAST(sum(t1."mag_g") AS double precision) AS "c4", CAST(avg(t1."mag_g") AS double precision) AS "c5", min(t1."ra") AS "c6", max(t1."patch") AS "c7" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT COUNT(*), COUNT(DISTINCT tract), SUM(tract), SUM(mag_",
    ),
    pytest.param(
        "SELECT tract, COUNT(*) AS n FROM object GROUP BY tract HAVING COUNT(*) > 100 ORDER BY n DESC",
        'SELECT t1."tract", count(*) AS "c2" FROM "dp01_dc2_catalogs"."object" AS t1 GROUP BY t1."tract" HAVING count(*) > 100 ORDER BY 2 DESC',
        (),
        id="SELECT tract, COUNT(*) AS n FROM object GROUP BY tract HAVIN",
    ),
    pytest.param(
        "SELECT tract AS t, COUNT(*) FROM object GROUP BY t",
        'SELECT t1."tract", count(*) AS "c2" FROM "dp01_dc2_catalogs"."object" AS t1 GROUP BY 1',
        (),
        id="SELECT tract AS t, COUNT(*) FROM object GROUP BY t",
    ),
    pytest.param(
        "SELECT COALESCE(mag_g, 99), COALESCE(patch, 'none') FROM object",
        'SELECT CAST(coalesce(t1."mag_g", 99) AS double precision) AS "c1", coalesce(t1."patch", $1::text) AS "c2" FROM "dp01_dc2_catalogs"."object" AS t1',
        ("none",),
        id="SELECT COALESCE(mag_g, 99), COALESCE(patch, 'none') FROM obj",
    ),
    pytest.param(
        "SELECT CASE WHEN mag_g < 20 THEN 'bright' WHEN mag_g < 24 THEN 'faint' ELSE 'other' END AS class FROM object",
        'SELECT CASE WHEN t1."mag_g" < 20 THEN $1::text WHEN t1."mag_g" < 24 THEN $2::text ELSE $3::text END AS "c1" FROM "dp01_dc2_catalogs"."object" AS t1',
        ("bright", "faint", "other"),
        id="SELECT CASE WHEN mag_g < 20 THEN 'bright' WHEN mag_g < 24 TH",
    ),
    pytest.param(
        "SELECT CASE tract WHEN 1 THEN 10 ELSE 2.5 END FROM object",
        'SELECT CAST(CASE t1."tract" WHEN 1 THEN 10 ELSE 2.5 END AS double precision) AS "c1" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT CASE tract WHEN 1 THEN 10 ELSE 2.5 END FROM object",
    ),
    pytest.param(
        "SELECT CAST(ra AS INTEGER), CAST(tract AS VARCHAR(10)), CAST(objectId AS BIGINT), CAST(ra AS REAL), CAST(tract AS DOUBLE PRECISION), CAST(patch AS CHAR(3)), CAST(ra AS SMALLINT) FROM object",
        'SELECT CAST(t1."ra" AS integer) AS "c1", CAST(t1."tract" AS varchar(10)) AS "c2", CAST(t1."objectId" AS bigint) AS "c3", CAST(t1."ra" AS real) AS "c4", CAST(t1."tract" AS double precision) AS "c5", CAST(t1."patch" AS char(3)) AS "c6", CAST(t1."ra" AS smallint) AS "c7" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT CAST(ra AS INTEGER), CAST(tract AS VARCHAR(10)), CAST",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE ra BETWEEN 60 AND 62 AND dec NOT BETWEEN -36 AND -35",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE (t1."ra" BETWEEN 60 AND 62) AND (t1."dec" NOT BETWEEN -36 AND -35)',
        (),
        id="SELECT ra FROM object WHERE ra BETWEEN 60 AND 62 AND dec NOT",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE tract IN (1, 2, 3) OR patch NOT IN ('1,1', '2,2')",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."tract" IN (1, 2, 3) OR t1."patch" NOT IN ($1, $2)',
        ("1,1", "2,2"),
        id="SELECT ra FROM object WHERE tract IN (1, 2, 3) OR patch NOT ",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE patch LIKE '1,%' AND patch NOT LIKE '%9' AND patch ILIKE 'A%'",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."patch" LIKE $1 AND t1."patch" NOT LIKE $2 AND t1."patch" ILIKE $3',
        ("1,%", "%9", "A%"),
        id="SELECT ra FROM object WHERE patch LIKE '1,%' AND patch NOT L",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE mag_g IS NULL OR mag_i IS NOT NULL",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."mag_g" IS NULL OR t1."mag_i" IS NOT NULL',
        (),
        id="SELECT ra FROM object WHERE mag_g IS NULL OR mag_i IS NOT NU",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE NOT (ra > 60 OR dec < -40)",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE NOT (t1."ra" > 60 OR t1."dec" < -40)',
        (),
        id="SELECT ra FROM object WHERE NOT (ra > 60 OR dec < -40)",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE good = 1 AND clean = 0",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."good" = TRUE AND t1."clean" = FALSE',
        (),
        id="SELECT ra FROM object WHERE good = 1 AND clean = 0",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE good AND NOT clean",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."good" AND NOT (t1."clean")',
        (),
        id="SELECT ra FROM object WHERE good AND NOT clean",
    ),
    pytest.param(
        "SELECT o.objectId, t.id FROM object AS o JOIN truth_match AS t ON o.objectId = t.match_objectId",
        'SELECT t1."objectId", t2."id" FROM "dp01_dc2_catalogs"."object" AS t1 INNER JOIN "dp01_dc2_catalogs"."truth_match" AS t2 ON t1."objectId" = t2."match_objectId"',
        (),
        id="SELECT o.objectId, t.id FROM object AS o JOIN truth_match AS",
    ),
    pytest.param(
        "SELECT o.objectId FROM object o INNER JOIN truth_match t ON o.objectId = t.match_objectId LEFT OUTER JOIN position p ON p.objectId = o.objectId",
        'SELECT t1."objectId" FROM "dp01_dc2_catalogs"."object" AS t1 INNER JOIN "dp01_dc2_catalogs"."truth_match" AS t2 ON t1."objectId" = t2."match_objectId" LEFT OUTER JOIN "dp01_dc2_catalogs"."position" AS t3 ON t3."objectId" = t1."objectId"',
        (),
        id="SELECT o.objectId FROM object o INNER JOIN truth_match t ON ",
    ),
    pytest.param(
        "SELECT o.ra FROM object o FULL OUTER JOIN truth_match t ON o.objectId = t.match_objectId",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 FULL OUTER JOIN "dp01_dc2_catalogs"."truth_match" AS t2 ON t1."objectId" = t2."match_objectId"',
        (),
        id="SELECT o.ra FROM object o FULL OUTER JOIN truth_match t ON o",
    ),
    pytest.param(
        "SELECT o.ra, t.ra FROM object o CROSS JOIN truth_match t",
        'SELECT t1."ra", t2."ra" AS "c2" FROM "dp01_dc2_catalogs"."object" AS t1 CROSS JOIN "dp01_dc2_catalogs"."truth_match" AS t2',
        (),
        id="SELECT o.ra, t.ra FROM object o CROSS JOIN truth_match t",
    ),
    pytest.param(
        "SELECT objectId, coord_ra FROM position NATURAL JOIN reference",
        'SELECT t1."objectId", t1."coord_ra" FROM "dp01_dc2_catalogs"."position" AS t1 INNER JOIN "dp01_dc2_catalogs"."reference" AS t2 ON t1."objectId" = t2."objectId" AND t1."coord_ra" = t2."coord_ra" AND t1."coord_dec" = t2."coord_dec"',
        (),
        id="SELECT objectId, coord_ra FROM position NATURAL JOIN referen",
    ),
    pytest.param(
        "SELECT objectId FROM position JOIN reference USING (objectId)",
        'SELECT t1."objectId" FROM "dp01_dc2_catalogs"."position" AS t1 INNER JOIN "dp01_dc2_catalogs"."reference" AS t2 ON t1."objectId" = t2."objectId"',
        (),
        id="SELECT objectId FROM position JOIN reference USING (objectId",
    ),
    pytest.param(
        "SELECT objectId FROM position FULL JOIN reference USING (objectId)",
        'SELECT coalesce(t1."objectId", t2."objectId") AS "c1" FROM "dp01_dc2_catalogs"."position" AS t1 FULL OUTER JOIN "dp01_dc2_catalogs"."reference" AS t2 ON t1."objectId" = t2."objectId"',
        (),
        id="SELECT objectId FROM position FULL JOIN reference USING (obj",
    ),
    pytest.param(
        "SELECT o.ra FROM object o, truth_match t WHERE o.objectId = t.match_objectId",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1, "dp01_dc2_catalogs"."truth_match" AS t2 WHERE t1."objectId" = t2."match_objectId"',
        (),
        id="SELECT o.ra FROM object o, truth_match t WHERE o.objectId = ",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE objectId IN (SELECT match_objectId FROM truth_match WHERE is_good_match = 1)",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."objectId" IN (SELECT t2."match_objectId" FROM "dp01_dc2_catalogs"."truth_match" AS t2 WHERE t2."is_good_match" = TRUE)',
        (),
        id="SELECT ra FROM object WHERE objectId IN (SELECT match_object",
    ),
    pytest.param(
        "SELECT ra FROM object o WHERE EXISTS (SELECT 1 FROM truth_match t WHERE t.match_objectId = o.objectId)",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE EXISTS (SELECT CAST(1 AS bigint) AS "c1" FROM "dp01_dc2_catalogs"."truth_match" AS t2 WHERE t2."match_objectId" = t1."objectId")',
        (),
        id="SELECT ra FROM object o WHERE EXISTS (SELECT 1 FROM truth_ma",
    ),
    pytest.param(
        "SELECT ra, (SELECT MAX(mag_r) FROM truth_match) AS brightest FROM object",
        'SELECT t1."ra", (SELECT max(t2."mag_r") AS "c1" FROM "dp01_dc2_catalogs"."truth_match" AS t2) AS "c2" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT ra, (SELECT MAX(mag_r) FROM truth_match) AS brightest",
    ),
    pytest.param(
        "SELECT s.n FROM (SELECT tract, COUNT(*) AS n FROM object GROUP BY tract) AS s WHERE s.n > 3",
        'SELECT t2."c2" AS "c1" FROM (SELECT t1."tract", count(*) AS "c2" FROM "dp01_dc2_catalogs"."object" AS t1 GROUP BY t1."tract") AS t2 WHERE t2."c2" > 3',
        (),
        id="SELECT s.n FROM (SELECT tract, COUNT(*) AS n FROM object GRO",
    ),
    pytest.param(
        "SELECT ra FROM object UNION SELECT ra FROM truth_match",
        '(SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1) UNION (SELECT t2."ra" FROM "dp01_dc2_catalogs"."truth_match" AS t2)',
        (),
        id="SELECT ra FROM object UNION SELECT ra FROM truth_match",
    ),
    pytest.param(
        "SELECT ra FROM object EXCEPT SELECT ra FROM truth_match INTERSECT SELECT coord_ra FROM position",
        '(SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1) EXCEPT ((SELECT t2."ra" FROM "dp01_dc2_catalogs"."truth_match" AS t2) INTERSECT (SELECT t3."coord_ra" FROM "dp01_dc2_catalogs"."position" AS t3))',
        (),
        id="SELECT ra FROM object EXCEPT SELECT ra FROM truth_match INTE",
    ),
    pytest.param(
        "SELECT TOP 3 ra FROM object UNION ALL SELECT TOP 2 ra FROM truth_match ORDER BY ra OFFSET 1",
        '(SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 LIMIT 3) UNION ALL (SELECT t2."ra" FROM "dp01_dc2_catalogs"."truth_match" AS t2 LIMIT 2) ORDER BY 1 ASC OFFSET 1',
        (),
        id="SELECT TOP 3 ra FROM object UNION ALL SELECT TOP 2 ra FROM t",
    ),
    pytest.param(
        "WITH bright AS (SELECT objectId, mag_g FROM object WHERE mag_g < 20) SELECT b.objectId FROM bright AS b",
        'WITH w2 AS (SELECT t1."objectId", t1."mag_g" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."mag_g" < 20) SELECT t3."objectId" AS "c1" FROM w2 AS t3',
        (),
        id="WITH bright AS (SELECT objectId, mag_g FROM object WHERE mag",
    ),
    pytest.param(
        "SELECT u.id, o.objectId FROM TAP_UPLOAD.mine AS u JOIN object AS o ON CONTAINS(POINT('ICRS', o.ra, o.dec), CIRCLE('ICRS', u.ra, u.dec, 0.001)) = 1",
        'SELECT t1."id", t2."objectId" FROM pg_temp."tap_upload_mine" AS t1 INNER JOIN "dp01_dc2_catalogs"."object" AS t2 ON spoint(radians(t2."ra"), radians(t2."dec")) <@ scircle(spoint(radians(t1."ra"), radians(t1."dec")), radians(0.001))',
        (),
        id="SELECT u.id, o.objectId FROM TAP_UPLOAD.mine AS u JOIN objec",
    ),
    pytest.param(
        "SELECT * FROM tap_upload.MINE",
        'SELECT t1."id", t1."ra", t1."dec", t1."label" FROM pg_temp."tap_upload_mine" AS t1',
        (),
        id="SELECT * FROM tap_upload.MINE",
    ),
    pytest.param(
        "SELECT POINT('ICRS', ra, dec) AS p, CIRCLE('ICRS', ra, dec, 1) FROM object",
        'SELECT ARRAY[degrees(long(spoint(radians(t1."ra"), radians(t1."dec")))), degrees(lat(spoint(radians(t1."ra"), radians(t1."dec"))))] AS "c1", ARRAY[degrees(long(center(scircle(spoint(radians(t1."ra"), radians(t1."dec")), radians(1))))), degrees(lat(center(scircle(spoint(radians(t1."ra"), radians(t1."dec")), radians(1))))), degrees(radius(scircle(spoint(radians(t1."ra"), radians(t1."dec")), radians(1))))] AS "c2" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT POINT('ICRS', ra, dec) AS p, CIRCLE('ICRS', ra, dec, ",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 61.863, -35.79, 0.0555))",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE spoint(radians(t1."ra"), radians(t1."dec")) <@ scircle(spoint(radians(61.863), radians(-35.79)), radians(0.0555))',
        (),
        id="SELECT ra FROM object WHERE 1 = CONTAINS(POINT('ICRS', ra, d",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE CONTAINS(POINT(ra, dec), CIRCLE(61.863, -35.79, 0.0555)) = 0",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE NOT (spoint(radians(t1."ra"), radians(t1."dec")) <@ scircle(spoint(radians(61.863), radians(-35.79)), radians(0.0555)))',
        (),
        id="SELECT ra FROM object WHERE CONTAINS(POINT(ra, dec), CIRCLE(",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE CONTAINS(POINT('ICRS', ra, dec), POLYGON('ICRS', 61, -36, 62, -36, 62, -35)) = 1",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE spoint(radians(t1."ra"), radians(t1."dec")) <@ CAST($1::text AS spoly)',
        ("{(61.0d,-36.0d),(62.0d,-36.0d),(62.0d,-35.0d)}",),
        id="SELECT ra FROM object WHERE CONTAINS(POINT('ICRS', ra, dec),",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE CONTAINS(POINT('ICRS', ra, dec), POLYGON('ICRS', POINT('ICRS', ra, -36), POINT(62, -36), POINT(62, -35))) = 1",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE spoint(radians(t1."ra"), radians(t1."dec")) <@ (SELECT spoly(v.p ORDER BY v.i) FROM (VALUES (1, spoint(radians(t1."ra"), radians(-36))), (2, spoint(radians(62), radians(-36))), (3, spoint(radians(62), radians(-35)))) AS v(i, p))',
        (),
        id="SELECT ra FROM object WHERE CONTAINS(POINT('ICRS', ra, dec),",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE CONTAINS(POINT('ICRS', ra, dec), BOX('ICRS', 61.5, -35.5, 1, 0.5)) = 1",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE spoint(radians(t1."ra"), radians(t1."dec")) <@ sbox(spoint(radians(61.5 - 1 / 2.0), radians(-35.5 - 0.5 / 2.0)), spoint(radians(61.5 + 1 / 2.0), radians(-35.5 + 0.5 / 2.0)))',
        (),
        id="SELECT ra FROM object WHERE CONTAINS(POINT('ICRS', ra, dec),",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE INTERSECTS(CIRCLE('ICRS', ra, dec, 0.01), CIRCLE('ICRS', 61, -35, 1)) = 1",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE scircle(spoint(radians(t1."ra"), radians(t1."dec")), radians(0.01)) && scircle(spoint(radians(61), radians(-35)), radians(1))',
        (),
        id="SELECT ra FROM object WHERE INTERSECTS(CIRCLE('ICRS', ra, de",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE INTERSECTS(CIRCLE('ICRS', 61, -35, 1), POINT('ICRS', ra, dec)) = 1",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE spoint(radians(t1."ra"), radians(t1."dec")) <@ scircle(spoint(radians(61), radians(-35)), radians(1))',
        (),
        id="SELECT ra FROM object WHERE INTERSECTS(CIRCLE('ICRS', 61, -3",
    ),
    pytest.param(
        "SELECT DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 61, -35)) AS d FROM object WHERE DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 61, -35)) < 0.1",
        'SELECT degrees(spoint(radians(t1."ra"), radians(t1."dec")) <-> spoint(radians(61), radians(-35))) AS "c1" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE spoint(radians(t1."ra"), radians(t1."dec")) <@ scircle(spoint(radians(61), radians(-35)), radians(0.1)) AND degrees(spoint(radians(t1."ra"), radians(t1."dec")) <-> spoint(radians(61), radians(-35))) < 0.1',
        (),
        id="SELECT DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 61, -3",
    ),
    pytest.param(
        "SELECT DISTANCE(ra, dec, 61, -35) FROM object",
        'SELECT degrees(spoint(radians(t1."ra"), radians(t1."dec")) <-> spoint(radians(61), radians(-35))) AS "c1" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT DISTANCE(ra, dec, 61, -35) FROM object",
    ),
    pytest.param(
        "SELECT COORD1(POINT('ICRS', ra, dec)), COORD2(POINT('ICRS', ra, dec)), COORDSYS(POINT('ICRS', ra, dec)) FROM object",
        'SELECT degrees(long(spoint(radians(t1."ra"), radians(t1."dec")))) AS "c1", degrees(lat(spoint(radians(t1."ra"), radians(t1."dec")))) AS "c2", \'ICRS\'::text AS "c3" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT COORD1(POINT('ICRS', ra, dec)), COORD2(POINT('ICRS', ",
    ),
    pytest.param(
        "SELECT AREA(CIRCLE('ICRS', 61, -35, 1)), AREA(POLYGON('ICRS', 61, -36, 62, -36, 62, -35)), CENTROID(CIRCLE('ICRS', 61, -35, 1)) FROM object",
        'SELECT degrees(degrees(area(scircle(spoint(radians(61), radians(-35)), radians(1))))) AS "c1", degrees(degrees(area(CAST($1::text AS spoly)))) AS "c2", ARRAY[degrees(long(center(scircle(spoint(radians(61), radians(-35)), radians(1))))), degrees(lat(center(scircle(spoint(radians(61), radians(-35)), radians(1)))))] AS "c3" FROM "dp01_dc2_catalogs"."object" AS t1',
        ("{(61.0d,-36.0d),(62.0d,-36.0d),(62.0d,-35.0d)}",),
        id="SELECT AREA(CIRCLE('ICRS', 61, -35, 1)), AREA(POLYGON('ICRS'",
    ),
    pytest.param(
        "SELECT CIRCLE(POINT('ICRS', 61, -35), 1) FROM object",
        'SELECT ARRAY[degrees(long(center(scircle(spoint(radians(61), radians(-35)), radians(1))))), degrees(lat(center(scircle(spoint(radians(61), radians(-35)), radians(1))))), degrees(radius(scircle(spoint(radians(61), radians(-35)), radians(1))))] AS "c1" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT CIRCLE(POINT('ICRS', 61, -35), 1) FROM object",
    ),
    pytest.param(
        "SELECT CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 61, -35, 1)) AS inside FROM object",
        'SELECT CASE WHEN spoint(radians(t1."ra"), radians(t1."dec")) <@ scircle(spoint(radians(61), radians(-35)), radians(1)) THEN 1 ELSE 0 END AS "c1" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 61, -",
    ),
    pytest.param(
        "SELECT IN_UNIT(ra, 'arcsec') FROM object",
        'SELECT CAST(t1."ra" * 3600.0 AS double precision) AS "c1" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT IN_UNIT(ra, 'arcsec') FROM object",
    ),
    pytest.param(
        "SELECT ra FROM object -- the end",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT ra FROM object -- the end",
    ),
    pytest.param(
        'SELECT "ra" FROM "dp01_dc2_catalogs"."object"',
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id='SELECT "ra" FROM "dp01_dc2_catalogs"."object"',
    ),
    pytest.param(
        "SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = 'dp01_dc2_catalogs' ORDER BY table_index",
        'SELECT t1."table_name" FROM "TAP_SCHEMA"."tables" AS t1 WHERE t1."schema_name" = $1 ORDER BY t1."table_index" ASC',
        ("dp01_dc2_catalogs",),
        id="SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name =",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE patch = 'it''s'",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."patch" = $1',
        ("it's",),
        id="SELECT ra FROM object WHERE patch = 'it''s'",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE 'a' = 'b'",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE $1::text = $2::text',
        ("a", "b"),
        id="SELECT ra FROM object WHERE 'a' = 'b'",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE patch = 'x' OR patch = 'x'",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE t1."patch" = $1 OR t1."patch" = $2',
        ("x", "x"),
        id="SELECT ra FROM object WHERE patch = 'x' OR patch = 'x'",
    ),
    pytest.param(
        "SELECT TRUE, FALSE FROM object",
        'SELECT TRUE AS "c1", FALSE AS "c2" FROM "dp01_dc2_catalogs"."object" AS t1',
        (),
        id="SELECT TRUE, FALSE FROM object",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE DISTANCE(POINT('ICRS', 61, -35), POINT('ICRS', ra, dec)) <= 0.5/60",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE spoint(radians(t1."ra"), radians(t1."dec")) <@ scircle(spoint(radians(61), radians(-35)), radians(0.5 / 60)) AND degrees(spoint(radians(61), radians(-35)) <-> spoint(radians(t1."ra"), radians(t1."dec"))) <= 0.5 / 60',
        (),
        id="SELECT ra FROM object WHERE DISTANCE(POINT('ICRS', 61, -35),",
    ),
    pytest.param(
        "SELECT ra FROM object WHERE 0.1 > DISTANCE(ra, dec, 61, -35)",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."object" AS t1 WHERE spoint(radians(t1."ra"), radians(t1."dec")) <@ scircle(spoint(radians(61), radians(-35)), radians(0.1)) AND degrees(spoint(radians(t1."ra"), radians(t1."dec")) <-> spoint(radians(61), radians(-35))) < 0.1',
        (),
        id="SELECT ra FROM object WHERE 0.1 > DISTANCE(ra, dec, 61, -35)",
    ),
    pytest.param(
        "SELECT t.ra FROM truth_match AS t WHERE t.id IN (SELECT CAST(objectId AS VARCHAR(20)) FROM object)",
        'SELECT t1."ra" FROM "dp01_dc2_catalogs"."truth_match" AS t1 WHERE t1."id" IN (SELECT CAST(t2."objectId" AS varchar(20)) AS "c1" FROM "dp01_dc2_catalogs"."object" AS t2)',
        (),
        id="SELECT t.ra FROM truth_match AS t WHERE t.id IN (SELECT CAST",
    ),
    pytest.param(
        "SELECT o.objectId, u.label FROM object AS o, TAP_UPLOAD.mine AS u WHERE DISTANCE(POINT('ICRS', o.ra, o.dec), POINT('ICRS', u.ra, u.dec)) < 0.001",
        'SELECT t1."objectId", t2."label" FROM "dp01_dc2_catalogs"."object" AS t1, pg_temp."tap_upload_mine" AS t2 WHERE spoint(radians(t1."ra"), radians(t1."dec")) <@ scircle(spoint(radians(t2."ra"), radians(t2."dec")), radians(0.001)) AND degrees(spoint(radians(t1."ra"), radians(t1."dec")) <-> spoint(radians(t2."ra"), radians(t2."dec"))) < 0.001',
        (),
        id="SELECT o.objectId, u.label FROM object AS o, TAP_UPLOAD.mine",
    ),
]


@pytest.mark.parametrize(("adql", "sql", "params"), GOLDEN)
def test_golden_translation(
    adql: str,
    sql: str,
    params: tuple[object, ...],
    schema: CatalogSchema,
    upload: UploadTable,
) -> None:
    translated = translate(adql, schema, uploads=[upload])
    assert translated.sql == sql
    assert translated.params == params
    assert translated.adql == adql
