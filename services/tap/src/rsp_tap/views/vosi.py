"""VOSI documents: availability, capabilities (TAPRegExt) and the tableset.

Built with :mod:`xml.etree.ElementTree`. ``xsi:type`` values name types by
prefix (``tr:TableAccess``, ``vs:ParamHTTP``), so each root declares its
prefixes itself and names are written with them (``vosi:capabilities``);
ElementTree's global prefix registry is left alone, since the capabilities
and the tableset bind ``vosi`` to different namespaces.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..models.schema import CatalogColumn, CatalogSchema, CatalogTable
from ..results import FORMATS

__all__ = [
    "ADQL_FEATURES",
    "TapLimits",
    "adql_column_name",
    "availability_document",
    "capabilities_document",
    "table_document",
    "tableset_document",
]

_VOSI_AVAILABILITY = "http://www.ivoa.net/xml/VOSIAvailability/v1.0"
_VOSI_CAPABILITIES = "http://www.ivoa.net/xml/VOSICapabilities/v1.0"
_VOSI_TABLES = "http://www.ivoa.net/xml/VOSITables/v1.0"
_VR = "http://www.ivoa.net/xml/VOResource/v1.0"
_VS = "http://www.ivoa.net/xml/VODataService/v1.1"
_TR = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = "xsi:type"
_TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt#"
_TABLES_NAMESPACES = {"xmlns:vosi": _VOSI_TABLES, "xmlns:xsi": _XSI, "xmlns:vs": _VS}


ADQL_FEATURES: dict[str, tuple[str, ...]] = {
    "features-adqlgeo": (
        "AREA",
        "BOX",
        "CENTROID",
        "CIRCLE",
        "CONTAINS",
        "COORD1",
        "COORD2",
        "COORDSYS",
        "DISTANCE",
        "INTERSECTS",
        "POINT",
        "POLYGON",
    ),
    "features-adql-string": ("LOWER", "ILIKE"),
    "features-adql-offset": ("OFFSET",),
    "features-adql-type": ("CAST",),
    "features-adql-sets": ("UNION", "EXCEPT", "INTERSECT"),
    "features-adql-common-table": ("WITH",),
    "features-adql-unit": ("IN_UNIT",),
}
"""Optional ADQL features the translator implements, by TAPRegExt feature type."""


@dataclass(frozen=True, slots=True)
class TapLimits:
    """The limits the capabilities declare."""

    retention_default: int
    retention_hard: int
    execution_default: int
    execution_hard: int
    output_default: int
    output_hard: int
    upload_hard_bytes: int


def _serialize(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data


def availability_document(available: bool, note: str) -> bytes:
    """The VOSI availability document."""
    root = ET.Element("availability", {"xmlns": _VOSI_AVAILABILITY})
    ET.SubElement(root, "available").text = "true" if available else "false"
    ET.SubElement(root, "note").text = note
    return _serialize(root)


def _interface(
    capability: ET.Element, url: str, *, use: str, std: bool = False
) -> None:
    attributes = {_XSI_TYPE: "vs:ParamHTTP"}
    if std:
        attributes.update(role="std", version="1.1")
    interface = ET.SubElement(capability, "interface", attributes)
    ET.SubElement(interface, "accessURL", {"use": use}).text = url


def _vosi_capability(root: ET.Element, standard: str, url: str) -> None:
    capability = ET.SubElement(root, "capability", {"standardID": standard})
    _interface(capability, url, use="full")


def _language(capability: ET.Element) -> None:
    language = ET.SubElement(capability, "language")
    ET.SubElement(language, "name").text = "ADQL"
    for version in ("2.0", "2.1"):
        ET.SubElement(
            language, "version", {"ivo-id": f"ivo://ivoa.net/std/ADQL#v{version}"}
        ).text = version
    ET.SubElement(language, "description").text = (
        "ADQL 2.1 on PostgreSQL with pgsphere; identifiers are case-insensitive"
        " unless delimited"
    )
    for feature_type, forms in ADQL_FEATURES.items():
        features = ET.SubElement(
            language, "languageFeatures", {"type": _TAPREGEXT + feature_type}
        )
        for form in forms:
            ET.SubElement(ET.SubElement(features, "feature"), "form").text = form


def _limit(
    parent: ET.Element, tag: str, default: int, hard: int, unit: str | None
) -> None:
    element = ET.SubElement(parent, tag)
    attributes = {"unit": unit} if unit else {}
    ET.SubElement(element, "default", attributes).text = str(default)
    ET.SubElement(element, "hard", attributes).text = str(hard)


def capabilities_document(service_url: str, limits: TapLimits) -> bytes:
    """The VOSI capabilities: TAP 1.1 (TAPRegExt) and the VOSI endpoints."""
    root = ET.Element(
        "vosi:capabilities",
        {
            "xmlns:vosi": _VOSI_CAPABILITIES,
            "xmlns:xsi": _XSI,
            "xmlns:vr": _VR,
            "xmlns:vs": _VS,
            "xmlns:tr": _TR,
        },
    )
    tap = ET.SubElement(
        root,
        "capability",
        {"standardID": "ivo://ivoa.net/std/TAP", _XSI_TYPE: "tr:TableAccess"},
    )
    _interface(tap, service_url, use="base", std=True)
    _language(tap)
    for output in FORMATS:
        attributes = {"ivo-id": output.ivo_id} if output.ivo_id else {}
        element = ET.SubElement(tap, "outputFormat", attributes)
        ET.SubElement(element, "mime").text = output.mime_type
        for alias in output.aliases:
            ET.SubElement(element, "alias").text = alias
    for method in ("upload-inline", "upload-http", "upload-https"):
        ET.SubElement(tap, "uploadMethod", {"ivo-id": _TAPREGEXT + method})
    _limit(
        tap, "retentionPeriod", limits.retention_default, limits.retention_hard, None
    )
    _limit(
        tap, "executionDuration", limits.execution_default, limits.execution_hard, None
    )
    _limit(tap, "outputLimit", limits.output_default, limits.output_hard, "row")
    upload = ET.SubElement(tap, "uploadLimit")
    ET.SubElement(upload, "hard", {"unit": "byte"}).text = str(limits.upload_hard_bytes)
    _vosi_capability(
        root, "ivo://ivoa.net/std/VOSI#capabilities", f"{service_url}/capabilities"
    )
    _vosi_capability(
        root, "ivo://ivoa.net/std/VOSI#availability", f"{service_url}/availability"
    )
    _vosi_capability(
        root, "ivo://ivoa.net/std/VOSI#tables-1.1", f"{service_url}/tables"
    )
    _vosi_capability(
        root, "ivo://ivoa.net/std/DALI#examples", f"{service_url}/examples"
    )
    return _serialize(root)


ADQL_DELIMITED_COLUMNS = frozenset({"size"})
"""Column names that are ADQL reserved words: listed delimited (``"size"``),
in /tables as in TAP_SCHEMA.columns."""


def adql_column_name(column: CatalogColumn) -> str:
    """The column's name as TAP metadata lists it (delimited if reserved)."""
    if column.name.lower() in ADQL_DELIMITED_COLUMNS:
        return f'"{column.name}"'
    return column.name


def _column_element(parent: ET.Element, column: CatalogColumn, primary: bool) -> None:
    attributes = {"std": "true"} if column.std else {}
    element = ET.SubElement(parent, "column", attributes)
    ET.SubElement(element, "name").text = adql_column_name(column)
    if column.description:
        ET.SubElement(element, "description").text = column.description
    if column.unit:
        ET.SubElement(element, "unit").text = column.unit
    if column.ucd:
        ET.SubElement(element, "ucd").text = column.ucd
    if column.utype:
        ET.SubElement(element, "utype").text = column.utype
    if column.xtype:
        ET.SubElement(element, "xtype").text = column.xtype
    datatype_attributes = {_XSI_TYPE: "vs:VOTableType"}
    if column.arraysize:
        datatype_attributes["arraysize"] = column.arraysize
    ET.SubElement(element, "dataType", datatype_attributes).text = column.datatype.value
    if column.indexed:
        ET.SubElement(element, "flag").text = "indexed"
    if primary:
        ET.SubElement(element, "flag").text = "primary"
    if column.nullable:
        ET.SubElement(element, "flag").text = "nullable"


def _table_element(
    parent: ET.Element | None,
    table: CatalogTable,
    schema: CatalogSchema,
    *,
    detail: bool,
) -> ET.Element:
    attributes = {"type": "output"}
    if parent is None:
        element = ET.Element("vosi:table", {**_TABLES_NAMESPACES, **attributes})
    else:
        element = ET.SubElement(parent, "table", attributes)
    ET.SubElement(element, "name").text = table.qualified_name
    if table.description:
        ET.SubElement(element, "description").text = table.description
    if not detail:
        return element
    for column in table.columns:
        _column_element(element, column, column.name in table.primary_key)
    for key in schema.keys:
        if key.from_table != table.qualified_name:
            continue
        foreign = ET.SubElement(element, "foreignKey")
        ET.SubElement(foreign, "targetTable").text = key.target_table
        for from_column, target_column in key.columns:
            pair = ET.SubElement(foreign, "fkColumn")
            ET.SubElement(pair, "fromColumn").text = from_column
            ET.SubElement(pair, "targetColumn").text = target_column
        if key.description:
            ET.SubElement(foreign, "description").text = key.description
        if key.utype:
            ET.SubElement(foreign, "utype").text = key.utype
    return element


def _schemas(schema: CatalogSchema) -> Iterable[tuple[str, Sequence[CatalogTable]]]:
    order: dict[str, list[CatalogTable]] = {}
    for table in sorted(
        schema.tables, key=lambda t: (t.schema_name, t.table_index, t.name)
    ):
        order.setdefault(table.schema_name, []).append(table)
    return order.items()


def tableset_document(schema: CatalogSchema, *, detail: bool = True) -> bytes:
    """The VOSI tableset; without ``detail`` no columns (``detail=min``)."""
    root = ET.Element("vosi:tableset", dict(_TABLES_NAMESPACES))
    for name, tables in _schemas(schema):
        element = ET.SubElement(root, "schema")
        ET.SubElement(element, "name").text = name
        description = schema.descriptions.get(name)
        if description:
            ET.SubElement(element, "description").text = description
        for table in tables:
            _table_element(element, table, schema, detail=detail)
    return _serialize(root)


def table_document(schema: CatalogSchema, table: CatalogTable) -> bytes:
    """One table with its columns (VOSI 1.1 ``/tables/<name>``)."""
    return _serialize(_table_element(None, table, schema, detail=True))
