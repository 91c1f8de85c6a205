"""Parquet results with VOTable metadata, as the IVOA VOParquet note describes.

The file's key-value metadata carries ``IVOA.VOTable-Parquet.version`` and
``IVOA.VOTable-Parquet.content``: a DATA-less VOTable with the RESOURCE,
INFO and FIELD elements of the result (units, UCDs, descriptions, xtypes),
so readers such as TOPCAT and astropy's ``parquet.votable`` recover the full
metadata.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..models.columns import ArrayColumn, ColumnarRows
from ..models.query import QueryResult
from ..models.schema import CatalogColumn, VOTableDatatype
from .votable import _text, votable_document

__all__ = ["write_parquet"]

_ARROW_TYPES: dict[VOTableDatatype, pa.DataType] = {
    VOTableDatatype.boolean: pa.bool_(),
    VOTableDatatype.unsignedByte: pa.uint8(),
    VOTableDatatype.short: pa.int16(),
    VOTableDatatype.int: pa.int32(),
    VOTableDatatype.long: pa.int64(),
    VOTableDatatype.float: pa.float32(),
    VOTableDatatype.double: pa.float64(),
    VOTableDatatype.char: pa.string(),
    VOTableDatatype.unicodeChar: pa.string(),
}


def _arrow_type(column: CatalogColumn) -> pa.DataType:
    base = _ARROW_TYPES[column.datatype]
    if column.arraysize is not None and base != pa.string():
        return pa.list_(base)
    return base


def _convert(value: object, kind: pa.DataType) -> object:
    if value is None:
        return None
    if kind == pa.string():
        return _text(value)
    if pa.types.is_floating(kind):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return math.nan
    if pa.types.is_integer(kind):
        return int(value)  # type: ignore[call-overload]
    return value


def _array(column: CatalogColumn, values: Sequence[object]) -> pa.Array:
    kind = _arrow_type(column)
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        if pa.types.is_list(kind):
            inner = kind.value_type
            converted: list[object] = [
                None if v is None else [_convert(i, inner) for i in v]  # type: ignore[attr-defined]
                for v in values
            ]
        else:
            converted = [_convert(v, kind) for v in values]
        return pa.array(converted, type=kind)


def _column_array(column: CatalogColumn, data: ArrayColumn) -> pa.Array:
    """A column fetched as a numpy array, without a Python object per value
    when its type allows (numbers and booleans into their own kind)."""
    kind = _arrow_type(column)
    source = data.values.dtype
    if pa.types.is_boolean(kind):
        direct = source.kind == "b"
    elif pa.types.is_floating(kind):
        direct = source.kind in "iuf"
    elif pa.types.is_integer(kind):
        target = np.dtype(kind.to_pandas_dtype())
        direct = source.kind in "iu" and np.can_cast(source, target, "safe")
    else:
        direct = False
    if not direct:
        return _array(column, data.python_values())
    native = data.values.astype(np.dtype(kind.to_pandas_dtype()))
    return pa.array(native, type=kind, mask=data.nulls)


def write_parquet(result: QueryResult, *, query: str | None = None) -> bytes:
    """The result as a Parquet file with VOParquet metadata."""
    if isinstance(result.rows, ColumnarRows):
        arrays = [
            _column_array(c, d)
            for c, d in zip(result.columns, result.rows.columns, strict=True)
        ]
    else:
        n = len(result.rows)
        by_column: list[Sequence[object]] = (
            list(zip(*result.rows, strict=True)) if n else [() for _ in result.columns]
        )
        arrays = [_array(c, v) for c, v in zip(result.columns, by_column, strict=True)]
    # Parquet needs unique column names; the VOTable metadata keeps the real ones.
    names = _unique([c.name for c in result.columns])
    head, tail = votable_document(
        result.columns, overflow=result.overflow, query=query, serialization=None
    )
    content = head + tail
    metadata = {
        b"IVOA.VOTable-Parquet.version": b"1.0",
        b"IVOA.VOTable-Parquet.content": content,
    }
    table = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(metadata)
    out = io.BytesIO()
    pq.write_table(table, out, compression="snappy")
    return out.getvalue()


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        count = seen.get(name.lower(), 0)
        seen[name.lower()] = count + 1
        unique.append(name if count == 0 else f"{name}_{count + 1}")
    return unique
