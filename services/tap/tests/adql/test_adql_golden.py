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
from tap_adql_golden import GOLDEN


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
