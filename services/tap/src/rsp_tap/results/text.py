"""CSV and TSV results: a header line of column names, then one line per row."""

from __future__ import annotations

import csv
import io

from ..models.query import QueryResult
from .votable import _formatter

__all__ = ["write_csv", "write_tsv"]


def _write(result: QueryResult, dialect: type[csv.Dialect]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, dialect=dialect)
    writer.writerow([c.name for c in result.columns])
    formatters = [_formatter(c) for c in result.columns]
    writer.writerows(
        [f(v) for f, v in zip(formatters, row, strict=True)] for row in result.rows
    )
    return out.getvalue().encode()


class _Csv(csv.excel):
    lineterminator = "\r\n"


class _Tsv(csv.excel_tab):
    lineterminator = "\n"
    quoting = csv.QUOTE_MINIMAL


def write_csv(result: QueryResult) -> bytes:
    """The result as CSV (RFC 4180, header present)."""
    return _write(result, _Csv)


def write_tsv(result: QueryResult) -> bytes:
    """The result as tab-separated values with a header line."""
    return _write(result, _Tsv)
