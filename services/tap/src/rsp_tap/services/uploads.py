"""Table uploads (``UPLOAD=name,param:part`` or ``name,https://...``).

Each uploaded VOTable becomes an :class:`UploadTable` named
``TAP_UPLOAD.<name>`` with columns typed as the catalog's are, so the
translator can join it with the catalogs. Size, row and time limits bound
what one query may upload; URLs are fetched only over HTTP(S) and only from
public addresses, redirects included (:mod:`rsp_tap.storage.remote`).
"""

from __future__ import annotations

import asyncio
import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from ..exceptions import UploadError, UploadTooLargeError
from ..models.query import UploadTable
from ..models.schema import CatalogColumn, CatalogTable, VOTableDatatype
from ..storage.remote import fetch_public_url

__all__ = [
    "UPLOAD_SCHEMA",
    "UploadLimits",
    "UploadService",
    "UploadSource",
    "parse_upload_parameter",
    "parse_votable_upload",
]

UPLOAD_SCHEMA = "TAP_UPLOAD"
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_DATATYPES: Mapping[str, VOTableDatatype] = {
    "boolean": VOTableDatatype.boolean,
    "bit": VOTableDatatype.boolean,
    "unsignedByte": VOTableDatatype.unsignedByte,
    "short": VOTableDatatype.short,
    "int": VOTableDatatype.int,
    "long": VOTableDatatype.long,
    "char": VOTableDatatype.char,
    "unicodeChar": VOTableDatatype.unicodeChar,
    "float": VOTableDatatype.float,
    "double": VOTableDatatype.double,
}


@dataclass(frozen=True, slots=True)
class UploadSource:
    """One table of an UPLOAD parameter: its name and where it comes from."""

    name: str
    uri: str

    @property
    def part(self) -> str | None:
        """The multipart part that holds the table (``param:<part>``), if inline."""
        if self.uri.startswith("param:"):
            return self.uri.removeprefix("param:")
        return None


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How much a query may upload."""

    max_bytes: int
    max_rows: int
    max_tables: int
    url_timeout: timedelta
    allow_private_networks: bool = False
    """Fetch URLs on loopback, private and link-local addresses (tests, local)."""


def parse_upload_parameter(
    values: Sequence[str], max_tables: int
) -> list[UploadSource]:
    """The tables an UPLOAD parameter (possibly repeated) names.

    Raises
    ------
    UploadError
        If a name or URI is malformed, a name repeats, or there are too many.
    """
    sources: list[UploadSource] = []
    for value in values:
        for item in value.split(";"):
            if not item.strip():
                continue
            name, sep, uri = item.partition(",")
            name, uri = name.strip(), uri.strip()
            if not sep or not uri:
                raise UploadError(
                    f"UPLOAD item {item[:80]!r} is not name,URI"
                    " (e.g. mytable,param:file or mytable,https://...)"
                )
            if not _NAME_RE.match(name):
                raise UploadError(
                    f"Upload table name {name[:80]!r} is not a plain ADQL"
                    " identifier (a letter, then letters, digits or _)"
                )
            if uri.startswith("param:"):
                if not uri.removeprefix("param:"):
                    raise UploadError(f"UPLOAD {name}: param: names no part")
            else:
                scheme = urlsplit(uri).scheme.lower()
                if scheme not in ("http", "https"):
                    raise UploadError(
                        f"UPLOAD {name}: only http, https and param: URIs are"
                        f" accepted, not {scheme or uri[:40]!r}"
                    )
            if any(s.name.lower() == name.lower() for s in sources):
                raise UploadError(f"Upload table name {name!r} is given twice")
            sources.append(UploadSource(name=name, uri=uri))
    if len(sources) > max_tables:
        raise UploadError(f"At most {max_tables} tables may be uploaded at once")
    return sources


def _column(field: Any, index: int) -> CatalogColumn:
    datatype = _DATATYPES.get(field.datatype)
    if datatype is None:
        raise UploadError(
            f"Uploaded column {field.name!r} has datatype {field.datatype!r},"
            " which cannot be queried"
        )
    arraysize = field.arraysize
    if datatype in (VOTableDatatype.char, VOTableDatatype.unicodeChar):
        arraysize = arraysize or "1"
    elif arraysize in ("1", None):
        arraysize = None
    elif "x" in str(arraysize):
        raise UploadError(f"Uploaded column {field.name!r} is a multidimensional array")
    description = field.description
    return CatalogColumn(
        name=str(field.name),
        datatype=datatype,
        arraysize=arraysize,
        xtype=field.xtype,
        unit=str(field.unit) if field.unit is not None else None,
        ucd=field.ucd,
        description=str(description) if description else None,
        column_index=index,
    )


def _timestamp(column: CatalogColumn, text: str) -> datetime:
    """A DALI timestamp (``YYYY-MM-DD['T'hh:mm:ss[.SSS]]['Z']``), as UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UploadError(
            f"Uploaded column {column.name!r} has xtype timestamp but holds"
            f" {text[:40]!r}, which is not an ISO 8601 time"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _python_values(data: Any, column: CatalogColumn) -> list[object]:
    if column.arraysize is not None and column.datatype not in (
        VOTableDatatype.char,
        VOTableDatatype.unicodeChar,
    ):
        out: list[object] = []
        mask = np.ma.getmaskarray(data)
        for value, masked in zip(data, mask, strict=True):
            if masked is True or value is np.ma.masked:
                out.append(None)
            else:
                out.append(np.ma.filled(np.asanyarray(value), np.nan).tolist())
        return out
    values = data.tolist() if not np.ma.isMaskedArray(data) else data.tolist(None)
    if column.datatype in (VOTableDatatype.char, VOTableDatatype.unicodeChar):
        texts = [
            v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values
        ]
        if column.xtype == "timestamp":
            return [None if not t else _timestamp(column, t) for t in texts]
        return texts
    if column.datatype in (VOTableDatatype.float, VOTableDatatype.double):
        return [None if v is None or math.isnan(v) else float(v) for v in values]
    return list(values)


def parse_votable_upload(name: str, content: bytes, max_rows: int) -> UploadTable:
    """An uploaded VOTable as a typed table (the first TABLE of the document).

    Raises
    ------
    UploadError
        If the content is not a VOTable with a table of queryable columns.
    UploadTooLargeError
        If it has more rows than allowed.
    """
    from astropy.io.votable import parse  # noqa: PLC0415 (slow import)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            votable = parse(io.BytesIO(content), verify="ignore")
            table = votable.get_first_table()
    except Exception as e:  # astropy raises many kinds on malformed input
        raise UploadError(f"Upload {name!r} is not a readable VOTable: {e}") from None
    fields = list(table.fields)
    if not fields:
        raise UploadError(f"Upload {name!r} has no columns")
    columns = tuple(_column(f, i) for i, f in enumerate(fields))
    lowered = [c.name.lower() for c in columns]
    if len(set(lowered)) != len(lowered):
        raise UploadError(f"Upload {name!r} has two columns of the same name")
    array = table.array
    if len(array) > max_rows:
        raise UploadTooLargeError(
            f"Upload {name!r} has {len(array)} rows; at most {max_rows} are allowed"
        )
    names = array.dtype.names
    by_column = [
        _python_values(array[names[i]], column) for i, column in enumerate(columns)
    ]
    rows = list(zip(*by_column, strict=True)) if len(array) else []
    description = CatalogTable(schema_name=UPLOAD_SCHEMA, name=name, columns=columns)
    return UploadTable(table=description, rows=rows)


class UploadService:
    """Gets uploaded tables, inline or by URL, within the limits."""

    def __init__(self, limits: UploadLimits, http_client: httpx.AsyncClient) -> None:
        self._limits = limits
        self._http = http_client

    @property
    def limits(self) -> UploadLimits:
        """The configured limits."""
        return self._limits

    def check_size(self, name: str, size: int) -> None:
        """Refuse an upload over the size limit.

        Raises
        ------
        UploadTooLargeError
            If ``size`` exceeds the limit.
        """
        if size > self._limits.max_bytes:
            raise UploadTooLargeError(
                f"Upload {name!r} is larger than the limit of"
                f" {self._limits.max_bytes} bytes"
            )

    async def fetch(self, source: UploadSource) -> bytes:
        """The content of a table uploaded by URL, from public addresses only.

        Raises
        ------
        UploadUrlRefusedError
            If the URL, or a redirect, reaches a loopback, private,
            link-local or metadata address (see :mod:`rsp_tap.storage.remote`).
        UploadError
            If the URL cannot be fetched.
        UploadTooLargeError
            If the content is over the size limit.
        """
        return await fetch_public_url(
            self._http,
            source.name,
            source.uri,
            max_bytes=self._limits.max_bytes,
            timeout=self._limits.url_timeout.total_seconds(),
            allow_private=self._limits.allow_private_networks,
        )

    async def load(
        self, sources: Sequence[UploadSource], inline: Mapping[str, bytes]
    ) -> tuple[UploadTable, ...]:
        """Every uploaded table, parsed.

        ``inline`` holds the content of the multipart parts by part name.

        Raises
        ------
        UploadError
            If a part is missing or a table cannot be read.
        UploadTooLargeError
            If a table is over a limit.
        """
        tables = []
        for source in sources:
            part = source.part
            if part is not None:
                if part not in inline:
                    raise UploadError(
                        f"UPLOAD {source.name}: the request has no part {part!r}"
                    )
                content = inline[part]
            else:
                content = await self.fetch(source)
            self.check_size(source.name, len(content))
            tables.append(
                await asyncio.to_thread(
                    parse_votable_upload, source.name, content, self._limits.max_rows
                )
            )
        return tuple(tables)
