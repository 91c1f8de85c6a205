"""VOSI: availability and capabilities (anonymous), tables (with detail=min)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from httpx import AsyncClient
from rsp_tap.data.setup import tap_schema_rows
from rsp_tap.models.schema import CatalogSchema

from .conftest import TAP

VOSI_TABLES = "{http://www.ivoa.net/xml/VOSITables/v1.0}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


async def test_availability_is_anonymous(anonymous_client: AsyncClient) -> None:
    response = await anonymous_client.get(f"{TAP}/availability")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.ivoa.net/xml/VOSIAvailability/v1.0}availability"
    available = root.find("{http://www.ivoa.net/xml/VOSIAvailability/v1.0}available")
    assert available is not None
    assert available.text == "true"


async def test_capabilities_declare_tap(anonymous_client: AsyncClient) -> None:
    response = await anonymous_client.get(f"{TAP}/capabilities")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.ivoa.net/xml/VOSICapabilities/v1.0}capabilities"
    tap = next(
        c
        for c in root.iter("capability")
        if c.get("standardID") == "ivo://ivoa.net/std/TAP"
    )
    assert tap.get(XSI_TYPE) == "tr:TableAccess"
    assert b'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0"' in response.content
    interface = tap.find("interface")
    assert interface is not None
    assert interface.get("role") == "std"
    assert interface.get("version") == "1.1"
    access = interface.find("accessURL")
    assert access is not None
    assert access.text == TAP
    versions = [v.text for v in tap.iter("version")]
    assert versions == ["2.0", "2.1"]
    geometry = [
        f.text
        for lf in tap.iter("languageFeatures")
        if lf.get("type", "").endswith("features-adqlgeo")
        for f in lf.iter("form")
    ]
    assert {"POINT", "CIRCLE", "CONTAINS", "DISTANCE"} <= set(geometry)
    formats = {
        o.findtext("mime"): [a.text for a in o.findall("alias")]
        for o in tap.findall("outputFormat")
    }
    assert formats["application/x-votable+xml"] == ["votable"]
    assert formats["application/vnd.apache.parquet"] == ["parquet"]
    assert "text/csv;header=present" in formats
    uploads = [u.get("ivo-id") for u in tap.findall("uploadMethod")]
    assert "ivo://ivoa.net/std/TAPRegExt#upload-inline" in uploads
    output_limit = tap.find("outputLimit")
    assert output_limit is not None
    assert output_limit.findtext("default") == "100000"
    assert output_limit.findtext("hard") == "5000000"
    standards = {c.get("standardID") for c in root.iter("capability")}
    assert "ivo://ivoa.net/std/VOSI#tables-1.1" in standards


async def test_tables_need_a_user(anonymous_client: AsyncClient) -> None:
    response = await anonymous_client.get(f"{TAP}/tables")
    assert response.status_code == 401
    assert b'value="ERROR"' in response.content


async def test_tables_list_the_catalogs(client: AsyncClient) -> None:
    response = await client.get(f"{TAP}/tables")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == f"{VOSI_TABLES}tableset"
    names = [t.findtext("name") for t in root.iter("table")]
    assert "dp01_dc2_catalogs.object" in names
    assert "TAP_SCHEMA.columns" in names
    table = next(
        t
        for t in root.iter("table")
        if t.findtext("name") == "dp01_dc2_catalogs.object"
    )
    columns = {c.findtext("name"): c for c in table.iter("column")}
    assert "objectId" in columns
    ra = columns["ra"]
    assert ra.findtext("unit") == "deg"
    datatype = ra.find("dataType")
    assert datatype is not None
    assert datatype.get(XSI_TYPE) == "vs:VOTableType"
    assert datatype.text == "double"


async def test_tables_detail_min_has_no_columns(client: AsyncClient) -> None:
    full = await client.get(f"{TAP}/tables")
    response = await client.get(f"{TAP}/tables", params={"detail": "min"})
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert [t.findtext("name") for t in root.iter("table")]
    assert list(root.iter("column")) == []
    assert len(response.content) < len(full.content) / 5


async def test_one_table(client: AsyncClient) -> None:
    response = await client.get(f"{TAP}/tables/dp01_dc2_catalogs.object")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == f"{VOSI_TABLES}table"
    assert root.findtext("name") == "dp01_dc2_catalogs.object"
    assert root.find("column") is not None
    missing = await client.get(f"{TAP}/tables/nope.nothing")
    assert missing.status_code == 404
    bad = await client.get(f"{TAP}/tables", params={"detail": "lots"})
    assert bad.status_code == 400


async def test_examples(client: AsyncClient) -> None:
    response = await client.get(f"{TAP}/examples")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xhtml+xml")
    root = ET.fromstring(response.content.split(b"\n", 1)[1])
    xhtml = "{http://www.w3.org/1999/xhtml}"
    examples = [d for d in root.iter(f"{xhtml}div") if d.get("typeof") == "example"]
    assert len(examples) >= 3
    queries = [p.text for d in examples for p in d.iter(f"{xhtml}pre")]
    assert any(q and "CIRCLE('ICRS', 61.863, -35.79" in q for q in queries)


async def test_tables_name_columns_as_tap_schema_does(
    client: AsyncClient, catalog_schema: CatalogSchema
) -> None:
    rows = tap_schema_rows(catalog_schema)["columns"]
    listed = {(r[0], r[1]) for r in rows}
    response = await client.get(f"{TAP}/tables")
    root = ET.fromstring(response.content)
    shown = {
        (t.findtext("name"), c.findtext("name"))
        for t in root.iter("table")
        for c in t.iter("column")
    }
    assert shown == listed
    assert ("TAP_SCHEMA.columns", '"size"') in shown
