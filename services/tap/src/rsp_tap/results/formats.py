"""The output formats of the service, their MIME types and short names.

One declaration serves ``RESPONSEFORMAT`` parsing, the content type of every
result and the ``outputFormat`` list of the TAPRegExt capabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..exceptions import UsageError

__all__ = ["FORMATS", "OutputFormat", "Serialization", "find_format"]


class Serialization(StrEnum):
    """How a result is written."""

    BINARY2 = "binary2"
    TABLEDATA = "tabledata"
    CSV = "csv"
    TSV = "tsv"
    PARQUET = "parquet"


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """One output format as clients ask for it and as results carry it."""

    serialization: Serialization
    mime_type: str
    """Content type of the result and the capability's declared MIME type."""

    aliases: tuple[str, ...]
    """Short names declared in the capabilities (``votable``, ``csv``...)."""

    accepted: tuple[str, ...]
    """Other values of RESPONSEFORMAT that mean this format (normalised)."""

    extension: str
    ivo_id: str | None = None
    """TAPRegExt standard identifier of the format, if it has one."""

    description: str = ""


_TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt#"

FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat(
        serialization=Serialization.BINARY2,
        mime_type="application/x-votable+xml",
        aliases=("votable",),
        accepted=(
            "application/x-votable+xml;serialization=binary2",
            "votable/b2",
            "votable/binary2",
            "votableb2",
            "binary2",
            "text/xml",
            "application/xml",
            "text/xml;content=x-votable",
        ),
        extension="xml",
        ivo_id=_TAPREGEXT + "output-votable-binary2",
        description="VOTable with BINARY2 serialization (default)",
    ),
    OutputFormat(
        serialization=Serialization.TABLEDATA,
        mime_type="application/x-votable+xml;serialization=TABLEDATA",
        aliases=("votable/td",),
        accepted=("votabletd", "votable/tabledata", "tabledata"),
        extension="xml",
        ivo_id=_TAPREGEXT + "output-votable-td",
        description="VOTable with TABLEDATA serialization",
    ),
    OutputFormat(
        serialization=Serialization.CSV,
        mime_type="text/csv;header=present",
        aliases=("csv",),
        accepted=("text/csv",),
        extension="csv",
        description="Comma-separated values with a header line",
    ),
    OutputFormat(
        serialization=Serialization.TSV,
        mime_type="text/tab-separated-values",
        aliases=("tsv",),
        accepted=("text/tsv",),
        extension="tsv",
        description="Tab-separated values with a header line",
    ),
    OutputFormat(
        serialization=Serialization.PARQUET,
        mime_type="application/vnd.apache.parquet",
        aliases=("parquet",),
        accepted=("application/x-parquet", "vnd.apache.parquet"),
        extension="parquet",
        description="Apache Parquet with VOTable metadata (IVOA VOParquet)",
    ),
)
"""Every output format, the default first."""


def _normalise(value: str) -> str:
    parts = [p.strip() for p in value.strip().lower().split(";")]
    return ";".join(p.replace(" ", "") for p in parts if p)


_LOOKUP: dict[str, OutputFormat] = {}
for _format in FORMATS:
    for _name in (_format.mime_type, *_format.aliases, *_format.accepted):
        _LOOKUP[_normalise(_name)] = _format


def find_format(value: str | None) -> OutputFormat:
    """The output format a RESPONSEFORMAT value names (the default for none).

    Raises
    ------
    UsageError
        If the value names no format of this service.
    """
    if value is None or not value.strip():
        return FORMATS[0]
    found = _LOOKUP.get(_normalise(value))
    if found is None:
        known = ", ".join(a for f in FORMATS for a in f.aliases)
        raise UsageError(
            f"Unsupported RESPONSEFORMAT {value[:100]!r}; use one of {known}"
            " or their MIME types"
        )
    return found
