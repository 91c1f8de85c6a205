"""BINARY2 straight from result columns held as numpy arrays.

When a backend fetched a result column-wise (:class:`ColumnarRows`) and
every column is a scalar number or boolean, the BINARY2 stream is one numpy
structured array: the null flags, then each column in its FIELD's datatype,
big-endian, row after row. No Python object is made per value. Any other
result goes through the general row encoder of :mod:`.votable`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..models.columns import ArrayColumn, ColumnarRows
from ..models.schema import CatalogColumn, VOTableDatatype

__all__ = ["binary2_columns"]

_NUMPY_TYPES: dict[VOTableDatatype, np.dtype[np.generic]] = {
    VOTableDatatype.unsignedByte: np.dtype(">u1"),
    VOTableDatatype.short: np.dtype(">i2"),
    VOTableDatatype.int: np.dtype(">i4"),
    VOTableDatatype.long: np.dtype(">i8"),
    VOTableDatatype.float: np.dtype(">f4"),
    VOTableDatatype.double: np.dtype(">f8"),
}
_TRUE, _FALSE, _NULL = (np.uint8(ord(c)) for c in "TF?")


_Encoded = tuple[np.ndarray, np.ndarray | None] | None
"""A column's BINARY2 values and null flags; None if it needs the row path."""


def _encoded(column: CatalogColumn, data: ArrayColumn) -> _Encoded:
    if column.arraysize is not None:
        return None
    if column.datatype is VOTableDatatype.boolean:
        return _booleans(data)
    target = _NUMPY_TYPES.get(column.datatype)
    if target is None or data.values.dtype.kind not in "iuf":
        return None
    if target.kind == "f":
        values = data.values.astype(target)
        if data.nulls is not None:
            values[data.nulls] = np.nan
        # A NaN is null in BINARY2 (the general encoder flags it too).
        nan = np.isnan(values)
        return values, nan if nan.any() else None
    if data.values.dtype.kind == "f" or not _fits(data, target):
        return None  # what the row encoder does with these stays its business
    values = data.values.astype(target)
    if data.nulls is not None:
        values[data.nulls] = 0
    return values, data.nulls


def _booleans(data: ArrayColumn) -> _Encoded:
    if data.values.dtype.kind != "b":
        return None
    codes = np.where(data.values, _TRUE, _FALSE)
    if data.nulls is not None:
        codes[data.nulls] = _NULL
    return codes, data.nulls


def _fits(data: ArrayColumn, target: np.dtype[np.generic]) -> bool:
    """Whether every integer of the column fits the FIELD's integer type."""
    if np.can_cast(data.values.dtype, target, "safe") or len(data.values) == 0:
        return True
    limits = np.iinfo(target)  # type: ignore[type-var]
    values = data.values
    return bool(limits.min <= values.min() and values.max() <= limits.max)


def binary2_columns(
    columns: Sequence[CatalogColumn], rows: ColumnarRows
) -> bytes | None:
    """The rows as a BINARY2 stream (before base64); None if some column is
    not a scalar number or boolean of a compatible type."""
    encoded = [_encoded(c, d) for c, d in zip(columns, rows.columns, strict=True)]
    n = len(rows)
    flag_bytes = (len(columns) + 7) // 8
    fields: list[tuple[str, np.dtype[np.generic]]] = [
        ("flags", np.dtype((np.uint8, (flag_bytes,))))
    ]
    for index, item in enumerate(encoded):
        if item is None:
            return None
        fields.append((f"c{index}", item[0].dtype))
    out = np.empty(n, dtype=np.dtype(fields))
    flags = np.zeros((n, flag_bytes), dtype=np.uint8)
    for index, item in enumerate(encoded):
        assert item is not None
        values, nulls = item
        out[f"c{index}"] = values
        if nulls is not None:
            flags[:, index // 8] |= nulls.astype(np.uint8) << np.uint8(7 - index % 8)
    out["flags"] = flags
    return out.tobytes()
