"""Query results read column-wise from ``COPY (query) TO STDOUT (FORMAT binary)``.

A binary COPY stream is a header, then per row an ``int16`` field count and
per field an ``int32`` byte length (``-1`` for NULL) followed by the
big-endian value, then an ``int16`` of ``-1``. When every result column has
a fixed-width type (booleans, integers, floats), a row without NULLs always
has the same size, so a run of such rows is one numpy structured array: the
values come out as one array per column without a Python object per value,
already in BINARY2's byte order.

Rows with NULLs are shorter. The reader checks runs of rows at the fixed
size (field count and every length word as expected; by induction this
proves each such row has no NULL, so the next row starts right after it),
reads a row that fails the check on its own, and goes on from the row after
it, with runs that start small after a NULL and double while they hold.
Rows are copied once into a buffer of fixed-size rows (a NULL's value
zeroed), which numpy then reads as columns.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from ..models.columns import ArrayColumn

__all__ = [
    "FIXED_WIDTH_TYPES",
    "CopyColumnsReader",
    "CopyFormatError",
    "copy_query",
    "read_copy_columns",
]

FIXED_WIDTH_TYPES: dict[int, np.dtype[np.generic]] = {
    16: np.dtype("?"),  # boolean
    21: np.dtype(">i2"),  # smallint
    23: np.dtype(">i4"),  # integer
    20: np.dtype(">i8"),  # bigint
    700: np.dtype(">f4"),  # real
    701: np.dtype(">f8"),  # double precision
}
"""Type OIDs read column-wise, and the numpy type of their binary form."""

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_FIRST_RUN = 64
_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")
_NULL_FIELDS = {width: b"\xff\xff\xff\xff" + bytes(width) for width in (1, 2, 4, 8)}
"""A NULL field at the fixed size: length -1, the value zeroed."""


class CopyFormatError(ValueError):
    """The stream is not binary COPY of rows of the expected types."""


def copy_query(sql: str, fetch: int | None) -> str:
    """The query to COPY out: its first ``fetch`` rows only if given.

    A subquery keeps the order of an ``ORDER BY`` (PostgreSQL never flattens
    a subquery that sorts), so the rows are those a cursor would give.
    """
    if fetch is None:
        return sql
    # The translator made ``sql``; ``fetch`` is a number.
    return f"SELECT * FROM ({sql}) AS rsp_tap_rows LIMIT {int(fetch)}"  # noqa: S608


def _row_layout(types: Sequence[np.dtype[np.generic]]) -> np.dtype[np.void]:
    fields: list[tuple[str, np.dtype[np.generic]]] = [("n", np.dtype(">i2"))]
    for index, dtype in enumerate(types):
        fields += [(f"l{index}", np.dtype(">i4")), (f"v{index}", dtype)]
    return np.dtype(fields)


def _length_words(
    layout: np.dtype[np.void], types: Sequence[np.dtype[np.generic]]
) -> tuple[np.ndarray, np.ndarray]:
    """Where in a fixed-size row the field count and length words are, and
    the bytes they hold in a row without NULLs."""
    expected = np.zeros(1, dtype=layout)
    expected["n"] = len(types)
    offsets = [np.arange(2)]
    for index, dtype in enumerate(types):
        expected[f"l{index}"] = dtype.itemsize
        start = layout.fields[f"l{index}"][1]  # type: ignore[index]
        offsets.append(np.arange(start, start + 4))
    words = np.concatenate(offsets)
    return words, expected.view(np.uint8)[words]


class _NeedMore(Exception):  # noqa: N818 (a signal, not an error)
    """The data so far ends inside a row: wait for the next chunk."""


class CopyColumnsReader:
    """Reads a binary COPY stream chunk by chunk as it arrives; columns at the end.

    Parameters
    ----------
    types
        The numpy types of the columns' binary forms (values of
        :data:`FIXED_WIDTH_TYPES`).

    Raises
    ------
    CopyFormatError
        From :meth:`feed` or :meth:`finish`, if the stream does not hold rows
        of exactly these types.
    """

    def __init__(self, types: Sequence[np.dtype[np.generic]]) -> None:
        if not types:
            raise CopyFormatError("a result has at least one column")
        self._types = tuple(types)
        self._layout = _row_layout(types)
        self._words, self._expected = _length_words(self._layout, types)
        self._rest = b""
        self._header_read = False
        self._ended = False
        self._pieces: list[bytes] = []
        self._run = _FIRST_RUN

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Read the rows a chunk completes (a row may span chunks)."""
        if self._ended:
            if chunk:
                raise CopyFormatError("data after the end of the COPY stream")
            return
        data = self._rest + chunk if self._rest else bytes(chunk)
        position = 0
        if not self._header_read:
            position = _header_end(data)
            if position > len(data):
                self._rest = data
                return
            self._header_read = True
        position = self._read_rows(data, position)
        self._rest = data[position:]

    def finish(self) -> list[ArrayColumn]:
        """The columns of every row read, once the stream has ended."""
        if not self._ended:
            raise CopyFormatError("the COPY stream ends inside a row")
        table = np.frombuffer(b"".join(self._pieces), dtype=self._layout)
        columns = []
        for index in range(len(self._types)):
            values = table[f"v{index}"].copy()
            nulls = table[f"l{index}"] == -1
            columns.append(ArrayColumn(values, nulls if nulls.any() else None))
        return columns

    def _read_rows(self, data: bytes, position: int) -> int:
        """Read complete rows from ``position``; where the unread data starts."""
        size = self._layout.itemsize
        raw = np.frombuffer(data, dtype=np.uint8)
        while True:
            rows = min(self._run, (len(data) - position) // size)
            good = 0
            if rows:
                block = raw[position : position + rows * size].reshape(rows, size)
                fits = (block[:, self._words] == self._expected).all(axis=1)
                good = rows if fits.all() else int(np.argmin(fits))
                if good:
                    self._pieces.append(data[position : position + good * size])
                    position += good * size
            if rows and good == rows:
                self._run *= 2
                continue
            try:
                row, after = _odd_row(data, position, self._types)
            except _NeedMore:
                return position
            if row is None:
                self._ended = True
                if after != len(data):
                    raise CopyFormatError("data after the end of the COPY stream")
                return after
            self._pieces.append(row)
            position = after
            self._run = _FIRST_RUN


def _header_end(data: bytes) -> int:
    """Where the rows start (past the end of ``data`` if it is too short)."""
    fixed = len(_SIGNATURE) + 8
    if len(data) < fixed:
        if not _SIGNATURE.startswith(data[: len(_SIGNATURE)]):
            raise CopyFormatError("not a binary COPY stream")
        return fixed
    if not data.startswith(_SIGNATURE):
        raise CopyFormatError("not a binary COPY stream")
    extension: int = _INT32.unpack_from(data, len(_SIGNATURE) + 4)[0]
    return fixed + extension


def read_copy_columns(
    data: bytes, types: Sequence[np.dtype[np.generic]]
) -> list[ArrayColumn]:
    """The rows of a whole binary COPY stream, one array per column.

    Raises
    ------
    CopyFormatError
        If the stream does not hold rows of exactly these types.
    """
    reader = CopyColumnsReader(types)
    reader.feed(data)
    return reader.finish()


def _odd_row(
    data: bytes,
    position: int,
    types: Sequence[np.dtype[np.generic]],
) -> tuple[bytes | None, int]:
    """A row that is not at the fixed size (it has NULLs), or the trailer.

    Returns the row at the fixed size (NULLs' values zeroed, their length
    words kept at -1) and where the next one starts; None at the trailer.
    """
    if position + 2 > len(data):
        raise _NeedMore
    (fields,) = _INT16.unpack_from(data, position)
    if fields == -1:
        return None, position + 2
    if fields != len(types):
        raise CopyFormatError(f"a row has {fields} fields, not {len(types)}")
    parts = [data[position : position + 2]]
    position += 2
    for dtype in types:
        if position + 4 > len(data):
            raise _NeedMore
        (length,) = _INT32.unpack_from(data, position)
        if length == dtype.itemsize:
            parts.append(data[position : position + 4 + length])
            position += 4 + length
        elif length == -1:
            parts.append(_NULL_FIELDS[dtype.itemsize])
            position += 4
        else:
            raise CopyFormatError(
                f"a value of {length} bytes where {dtype} takes {dtype.itemsize}"
            )
    if position > len(data):
        raise _NeedMore
    return b"".join(parts), position
