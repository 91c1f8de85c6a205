"""The catalog schema read from the official Felis files."""

from __future__ import annotations

from rsp_tap.data.felis import (
    CATALOG_SCHEMA_NAME,
    TAP_SCHEMA_NAME,
    load_catalog_schema,
    load_felis_schema,
)
from rsp_tap.models.schema import CatalogSchema, CatalogTable, VOTableDatatype


def _table(schema: CatalogSchema, name: str) -> CatalogTable:
    table = schema.table(CATALOG_SCHEMA_NAME, name)
    assert table is not None, name
    return table


def test_tables_in_tap_order() -> None:
    schema = load_catalog_schema()
    names = [t.qualified_name for t in schema.tables]
    assert names == [
        "dp01_dc2_catalogs.object",
        "dp01_dc2_catalogs.truth_match",
        "dp01_dc2_catalogs.position",
        "dp01_dc2_catalogs.reference",
        "dp01_dc2_catalogs.forced_photometry",
        "TAP_SCHEMA.schemas",
        "TAP_SCHEMA.tables",
        "TAP_SCHEMA.columns",
        "TAP_SCHEMA.keys",
        "TAP_SCHEMA.key_columns",
    ]
    assert [t.table_index for t in schema.tables[:5]] == [1, 2, 3, 4, 5]
    assert set(schema.descriptions) == {CATALOG_SCHEMA_NAME, TAP_SCHEMA_NAME}
    assert "Data Preview 0.1" in schema.descriptions[CATALOG_SCHEMA_NAME]


def test_cached() -> None:
    assert load_catalog_schema() is load_catalog_schema()


def test_every_felis_column_is_kept() -> None:
    schema = load_catalog_schema()
    felis = load_felis_schema()
    for felis_table in felis.tables:
        table = _table(schema, felis_table.name)
        assert {c.name for c in table.columns} == {c.name for c in felis_table.columns}
        assert [c.column_index for c in table.columns] == list(
            range(1, len(table.columns) + 1)
        )
    assert len(_table(schema, "forced_photometry").columns) == 747


def test_object_columns() -> None:
    table = _table(load_catalog_schema(), "object")
    object_id = table.column("objectid")
    assert object_id is not None
    assert object_id.name == "objectId"
    assert object_id.datatype is VOTableDatatype.long
    assert object_id.ucd == "meta.id;src"
    assert object_id.principal
    assert object_id.indexed
    assert not object_id.nullable
    assert object_id.column_index == 1
    assert table.primary_key == ("objectId",)

    ra = table.column("ra")
    assert ra is not None
    assert ra.datatype is VOTableDatatype.double
    assert ra.unit == "deg"
    assert ra.ucd == "pos.eq.ra"
    assert ra.indexed
    assert ra.description is not None
    assert ra.description.startswith("RA-coordinate")

    for band in "ugrizy":
        mag = table.column(f"mag_{band}")
        assert mag is not None
        assert mag.datatype is VOTableDatatype.double
        assert mag.unit == "mag"
        assert not mag.principal
        err = table.column(f"magerr_{band}_cModel")
        assert err is not None
        assert err.ucd == "stat.error"
        assert err.principal

    patch = table.column("patch")
    assert patch is not None
    assert patch.datatype is VOTableDatatype.char
    assert patch.arraysize == "3"
    assert table.column("OBJECTID", delimited=True) is None


def test_truth_match_columns() -> None:
    table = _table(load_catalog_schema(), "truth_match")
    match = table.column("match_objectId")
    assert match is not None
    assert match.datatype is VOTableDatatype.long
    assert match.indexed
    good = table.column("is_good_match")
    assert good is not None
    assert good.datatype is VOTableDatatype.boolean
    flux = table.column("flux_g")
    assert flux is not None
    assert (flux.datatype, flux.unit) == (VOTableDatatype.float, "nJy")
    # tap:column_index puts ra and dec before the columns without an index.
    assert [c.name for c in table.columns[:4]] == ["id", "ra", "dec", "host_galaxy"]


def test_tap_schema_tables() -> None:
    schema = load_catalog_schema()
    columns = schema.table("tap_schema", "COLUMNS")
    assert columns is not None
    assert columns.schema_name == TAP_SCHEMA_NAME
    assert [c.name for c in columns.columns] == [
        "table_name",
        "column_name",
        "utype",
        "ucd",
        "unit",
        "description",
        "datatype",
        "arraysize",
        "xtype",
        "size",
        "principal",
        "indexed",
        "std",
        "column_index",
    ]
    assert all(c.std and c.principal for c in columns.columns)
    assert columns.primary_key == ("table_name", "column_name")
    name = columns.column("column_name")
    assert name is not None
    assert (name.datatype, name.arraysize) == (VOTableDatatype.char, "64*")
    for table in schema.tables:
        if table.schema_name == TAP_SCHEMA_NAME:
            assert all(c.description for c in table.columns), table.name
    schemas = schema.table(TAP_SCHEMA_NAME, "schemas")
    assert schemas is not None
    assert schemas.column("schema_index") is not None


def test_keys() -> None:
    schema = load_catalog_schema()
    keys = {k.key_id: k for k in schema.keys}
    truth = keys["truth_match_match_objectId"]
    assert truth.from_table == "dp01_dc2_catalogs.truth_match"
    assert truth.target_table == "dp01_dc2_catalogs.object"
    assert truth.columns == (("match_objectId", "objectId"),)
    tables = {t.qualified_name for t in schema.tables}
    for key in schema.keys:
        assert key.from_table in tables
        assert key.target_table in tables
        from_table = schema.table(*key.from_table.split("."))
        target_table = schema.table(*key.target_table.split("."))
        assert from_table is not None
        assert target_table is not None
        for source, target in key.columns:
            assert from_table.column(source, delimited=True) is not None
            assert target_table.column(target, delimited=True) is not None
    assert any(k.from_table == "TAP_SCHEMA.columns" for k in schema.keys)
