"""The DALI examples document: example queries as XHTML with RDFa.

Each example is a ``div`` of type ``example`` (vocabulary
``http://www.ivoa.net/rdf/examples#``) with its ``name`` and the ADQL in a
``query`` property, so that clients (TOPCAT, the portal) can offer them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

__all__ = ["EXAMPLES", "Example", "examples_document"]

_XHTML = "http://www.w3.org/1999/xhtml"


@dataclass(frozen=True, slots=True)
class Example:
    """One example query."""

    id: str
    name: str
    description: str
    query: str


EXAMPLES: tuple[Example, ...] = (
    Example(
        id="cone-search",
        name="Bright objects in a 200 arcsecond cone",
        description=(
            "Objects within 200 arcseconds of (61.863, -35.79) brighter than"
            " 24th magnitude in g and i, as in the DP0.1 documentation."
        ),
        query=(
            "SELECT objectId, ra, dec, mag_g, mag_i\n"
            "FROM dp01_dc2_catalogs.object\n"
            "WHERE CONTAINS(POINT('ICRS', ra, dec),"
            " CIRCLE('ICRS', 61.863, -35.79, 200.0/3600.0)) = 1\n"
            "  AND mag_g < 24 AND mag_i < 24"
        ),
    ),
    Example(
        id="truth-match",
        name="Objects with their matched truth entries",
        description="Join truth_match to object on the matched object id.",
        query=(
            "SELECT TOP 100 o.objectId, o.ra, o.dec, o.mag_r, t.mag_r AS truth_mag_r\n"
            "FROM dp01_dc2_catalogs.object AS o\n"
            "JOIN dp01_dc2_catalogs.truth_match AS t"
            " ON t.match_objectId = o.objectId\n"
            "WHERE t.is_good_match = 1"
        ),
    ),
    Example(
        id="tables",
        name="The tables of the service",
        description="Every table and its description, from TAP_SCHEMA.",
        query="SELECT table_name, description FROM TAP_SCHEMA.tables",
    ),
)
"""The examples the service offers."""


def examples_document(examples: tuple[Example, ...] = EXAMPLES) -> bytes:
    """The examples as an XHTML document with RDFa properties."""
    html = ET.Element("html", {"xmlns": _XHTML})
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "title").text = "TAP examples"
    body = ET.SubElement(html, "body", {"vocab": "http://www.ivoa.net/rdf/examples#"})
    ET.SubElement(body, "h1").text = "Example queries"
    for example in examples:
        div = ET.SubElement(
            body,
            "div",
            {"typeof": "example", "id": example.id, "resource": f"#{example.id}"},
        )
        ET.SubElement(div, "h2", {"property": "name"}).text = example.name
        ET.SubElement(div, "p").text = example.description
        ET.SubElement(
            div, "pre", {"class": "dali-example-query", "property": "query"}
        ).text = example.query
    text = ET.tostring(html, encoding="unicode")
    return ("<!DOCTYPE html>\n" + text + "\n").encode()
