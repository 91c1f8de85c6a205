"""Rows held column by column: one numpy array per result column.

A backend that can fetch a result column-wise (the PostgreSQL backend does,
with binary ``COPY``, when every column is a fixed-width number or a
boolean) answers :class:`ColumnarRows` as the ``rows`` of its
:class:`~rsp_tap.models.query.QueryResult`. It is a sequence of row tuples
like any other, so every writer and every caller keeps working; the BINARY2
and Parquet writers see the arrays and encode them without making a Python
object per value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

__all__ = ["ArrayColumn", "ColumnarRows"]


@dataclass(frozen=True, slots=True)
class ArrayColumn:
    """The values of one result column and where they are null."""

    values: np.ndarray
    """One value per row: a numeric or boolean array, of either byte order
    (PostgreSQL sends big-endian, as BINARY2 writes). A null row holds 0,
    0.0 or False here; ``nulls`` says which."""

    nulls: np.ndarray | None = None
    """Booleans, True where the value is null; None when no value is."""

    def __post_init__(self) -> None:
        if self.values.ndim != 1:
            raise ValueError("a column's values must be one-dimensional")
        if self.nulls is not None and self.nulls.shape != self.values.shape:
            raise ValueError("a column's null flags must match its values")

    def __len__(self) -> int:
        return len(self.values)

    def python_values(self) -> list[object]:
        """The values as Python objects (int, float, bool), nulls as None."""
        values: list[object] = self.values.tolist()
        if self.nulls is not None:
            for index in np.flatnonzero(self.nulls).tolist():
                values[index] = None
        return values

    def slice(self, selection: slice) -> ArrayColumn:
        """The rows ``selection`` picks (views, no copy)."""
        nulls = None if self.nulls is None else self.nulls[selection]
        if nulls is not None and not nulls.any():
            nulls = None
        return ArrayColumn(self.values[selection], nulls)


class ColumnarRows(Sequence[tuple[object, ...]]):
    """A sequence of row tuples stored as one :class:`ArrayColumn` per column.

    Indexing gives a row tuple (Python values, None for null), slicing gives
    another ``ColumnarRows`` sharing the arrays, iteration gives every row.
    """

    __slots__ = ("_length", "columns")

    def __init__(self, columns: Sequence[ArrayColumn]) -> None:
        if not columns:
            raise ValueError("a result has at least one column")
        lengths = {len(c) for c in columns}
        if len(lengths) != 1:
            raise ValueError("every column of a result has the same number of rows")
        self.columns: tuple[ArrayColumn, ...] = tuple(columns)
        self._length = lengths.pop()

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> tuple[object, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> ColumnarRows: ...

    def __getitem__(self, index: int | slice) -> tuple[object, ...] | ColumnarRows:
        if isinstance(index, slice):
            return ColumnarRows([c.slice(index) for c in self.columns])
        if not -self._length <= index < self._length:
            raise IndexError("row index out of range")
        return tuple(
            None if c.nulls is not None and c.nulls[index] else c.values[index].item()
            for c in self.columns
        )

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same rows (lists of tuples included)."""
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(
            mine == tuple(theirs) for mine, theirs in zip(self, other, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[tuple[object, ...]]:
        return zip(*(c.python_values() for c in self.columns), strict=True)
