"""Result writers: a query result to the bytes of one output format."""

from __future__ import annotations

from ..models.query import QueryResult
from .formats import FORMATS, OutputFormat, Serialization, find_format
from .parquet import write_parquet
from .text import write_csv, write_tsv
from .votable import error_document, write_votable

__all__ = [
    "FORMATS",
    "OutputFormat",
    "Serialization",
    "error_document",
    "find_format",
    "write_result",
]


def write_result(
    result: QueryResult, output: OutputFormat, *, query: str | None = None
) -> bytes:
    """The result in ``output``'s format (``query`` is recorded where it fits)."""
    match output.serialization:
        case Serialization.BINARY2:
            return write_votable(result, query=query)
        case Serialization.TABLEDATA:
            return write_votable(result, query=query, tabledata=True)
        case Serialization.CSV:
            return write_csv(result)
        case Serialization.TSV:
            return write_tsv(result)
        case Serialization.PARQUET:
            return write_parquet(result, query=query)
