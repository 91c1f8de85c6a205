"""PostgreSQL binary COPY encoding of column arrays, vectorised with numpy.

A chunk of generated rows arrives as one numpy array per column; this turns
it into the bytes of ``COPY ... FROM STDIN (FORMAT binary)`` without a Python
loop over rows. Each row is ``int16`` field count, then per field an
``int32`` byte length (``-1`` for NULL) and the big-endian value.

When no value is NULL and every string of a column has the same length,
rows have a fixed layout and one numpy structured array is the whole
encoding. Otherwise the same array is built at maximum width and the bytes
that NULLs and shorter strings do not use are dropped with a boolean mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..models.schema import CatalogColumn, VOTableDatatype

__all__ = [
    "COPY_HEADER",
    "COPY_TRAILER",
    "ColumnData",
    "encode_rows",
    "numpy_dtype",
    "postgres_type",
]

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
"""Signature, flags and header extension length of a binary COPY stream."""

COPY_TRAILER = b"\xff\xff"
"""Field count -1: the end of a binary COPY stream."""

_NUMPY_TYPES: dict[VOTableDatatype, str] = {
    VOTableDatatype.boolean: "?",
    VOTableDatatype.unsignedByte: ">i2",
    VOTableDatatype.short: ">i2",
    VOTableDatatype.int: ">i4",
    VOTableDatatype.long: ">i8",
    VOTableDatatype.float: ">f4",
    VOTableDatatype.double: ">f8",
}

_POSTGRES_TYPES: dict[VOTableDatatype, str] = {
    VOTableDatatype.boolean: "boolean",
    VOTableDatatype.unsignedByte: "smallint",
    VOTableDatatype.short: "smallint",
    VOTableDatatype.int: "integer",
    VOTableDatatype.long: "bigint",
    VOTableDatatype.float: "real",
    VOTableDatatype.double: "double precision",
}


def postgres_type(column: CatalogColumn) -> str:
    """The PostgreSQL type a catalog column is stored as.

    Strings are ``varchar(n)`` when the arraysize bounds them (``20``,
    ``64*``), ``text`` otherwise; ``unsignedByte`` is a ``smallint``.
    """
    if column.datatype in (VOTableDatatype.char, VOTableDatatype.unicodeChar):
        size = (column.arraysize or "*").rstrip("*")
        return f"varchar({int(size)})" if size else "text"
    if column.arraysize is not None:
        raise ValueError(f"Array column {column.name} is not supported")
    return _POSTGRES_TYPES[column.datatype]


def numpy_dtype(column: CatalogColumn) -> np.dtype[np.generic] | None:
    """Big-endian numpy type of a numeric column's values; None for strings."""
    name = _NUMPY_TYPES.get(column.datatype)
    return None if name is None else np.dtype(name)


@dataclass(frozen=True, slots=True)
class ColumnData:
    """Values of one column for a chunk of rows."""

    values: npt.NDArray[np.generic]
    """Numeric values (any dtype castable to the column's), or ``S`` bytes."""

    nulls: npt.NDArray[np.bool_] | None = None
    """True where the value is NULL (the value itself is then ignored)."""


def _field_type(column: CatalogColumn, data: ColumnData) -> np.dtype[np.generic]:
    dtype = numpy_dtype(column)
    if dtype is not None:
        return dtype
    if data.values.dtype.kind != "S":
        raise TypeError(
            f"Column {column.name} needs bytes values, not {data.values.dtype}"
        )
    return np.dtype(f"S{max(data.values.dtype.itemsize, 1)}")


def encode_rows(columns: Sequence[CatalogColumn], data: Sequence[ColumnData]) -> bytes:
    """Encode rows as binary COPY tuples (without header and trailer).

    Parameters
    ----------
    columns
        The table's columns, in the order of the COPY column list.
    data
        Values of each column, all of the same length.
    """
    if len(columns) != len(data):
        raise ValueError("One ColumnData per column is needed")
    rows = len(data[0].values) if data else 0
    if rows == 0:
        return b""
    types = [_field_type(c, d) for c, d in zip(columns, data, strict=True)]
    fields: list[tuple[str, np.dtype[np.generic]]] = [("n", np.dtype(">i2"))]
    for index, dtype in enumerate(types):
        fields += [(f"l{index}", np.dtype(">i4")), (f"v{index}", dtype)]
    layout = np.dtype(fields)
    out = np.empty(rows, dtype=layout)
    out["n"] = len(columns)
    variable: list[tuple[int, npt.NDArray[np.int64]]] = []
    for index, (dtype, item) in enumerate(zip(types, data, strict=True)):
        values = item.values
        if len(values) != rows:
            raise ValueError(
                f"Column {columns[index].name} has {len(values)} rows, not {rows}"
            )
        out[f"v{index}"] = values
        if dtype.kind == "S":
            lengths = np.char.str_len(values).astype(np.int64)
            if item.nulls is not None:
                lengths = np.where(item.nulls, -1, lengths)
            if (lengths != dtype.itemsize).any():
                variable.append((index, lengths))
            out[f"l{index}"] = lengths
        elif item.nulls is not None and item.nulls.any():
            lengths = np.where(item.nulls, -1, dtype.itemsize)
            variable.append((index, lengths))
            out[f"l{index}"] = lengths
        else:
            out[f"l{index}"] = dtype.itemsize
    if not variable:
        return out.tobytes()
    raw = out.view(np.uint8).reshape(rows, layout.itemsize)
    keep = np.ones(raw.shape, dtype=np.bool_)
    for index, lengths in variable:
        offset = layout.fields[f"v{index}"][1]  # type: ignore[index]
        width = types[index].itemsize
        used = np.maximum(lengths, 0)
        keep[:, offset : offset + width] = np.arange(width) < used[:, None]
    return raw[keep].tobytes()
