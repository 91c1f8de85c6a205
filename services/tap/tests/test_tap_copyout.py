"""Binary COPY read column-wise, and rows held as columns."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rsp_tap.data.pgcopy import COPY_HEADER, COPY_TRAILER, ColumnData, encode_rows
from rsp_tap.models.columns import ArrayColumn, ColumnarRows
from rsp_tap.models.schema import CatalogColumn, VOTableDatatype
from rsp_tap.storage.copyout import (
    FIXED_WIDTH_TYPES,
    CopyColumnsReader,
    CopyFormatError,
    copy_query,
    read_copy_columns,
)

T = VOTableDatatype
# Every fixed-width type, as the loader's encoder writes it and PostgreSQL sends it.
COLUMNS = (
    CatalogColumn("b", T.boolean),
    CatalogColumn("i16", T.short),
    CatalogColumn("i32", T.int),
    CatalogColumn("i64", T.long),
    CatalogColumn("f32", T.float),
    CatalogColumn("f64", T.double),
)
TYPES = [FIXED_WIDTH_TYPES[oid] for oid in (16, 21, 23, 20, 700, 701)]


def _stream(data: list[ColumnData]) -> bytes:
    return COPY_HEADER + encode_rows(COLUMNS, data) + COPY_TRAILER


def _random_columns(rows: int, null_rate: float, seed: int) -> list[ColumnData]:
    rng = np.random.default_rng(seed)
    values: list[np.ndarray] = [
        rng.random(rows) < 0.5,
        rng.integers(-(2**15), 2**15, rows),
        rng.integers(-(2**31), 2**31, rows),
        rng.integers(-(2**63), 2**63 - 1, rows, dtype=np.int64),
        rng.normal(size=rows).astype(np.float32),
        rng.normal(size=rows),
    ]
    return [ColumnData(v, nulls=rng.random(rows) < null_rate) for v in values]


def _check(read: list[ArrayColumn], data: list[ColumnData]) -> None:
    assert len(read) == len(data)
    for got, sent in zip(read, data, strict=True):
        none = np.zeros(len(got), bool)
        nulls = sent.nulls if sent.nulls is not None else none
        found = got.nulls if got.nulls is not None else none
        assert found.tolist() == nulls.tolist()
        assert got.values[~nulls].tolist() == sent.values[~nulls].tolist()
        # A null's value is zeroed, never garbage from the next field.
        assert not got.values[nulls].any()


@pytest.mark.parametrize("null_rate", [0.0, 0.003, 0.2, 1.0])
def test_every_type_with_nulls_round_trips(null_rate: float) -> None:
    data = _random_columns(3000, null_rate, seed=int(null_rate * 1000))
    read = read_copy_columns(_stream(data), TYPES)
    _check(read, data)
    assert [c.values.dtype for c in read] == TYPES
    if null_rate == 0:
        assert all(c.nulls is None for c in read)


def test_nulls_at_the_start_and_end() -> None:
    data = _random_columns(500, 0.0, seed=1)
    for item in data:
        assert item.nulls is not None
        item.nulls[[0, 1, 250, 498, 499]] = True
    _check(read_copy_columns(_stream(data), TYPES), data)


def test_special_values() -> None:
    floats = np.array([math.nan, math.inf, -math.inf, -0.0, 5e-324])
    read = read_copy_columns(
        COPY_HEADER
        + encode_rows([CatalogColumn("f", T.double)], [ColumnData(floats)])
        + COPY_TRAILER,
        [FIXED_WIDTH_TYPES[701]],
    )
    values = read[0].values
    assert math.isnan(values[0])
    assert values[1:].tolist() == [math.inf, -math.inf, -0.0, 5e-324]
    assert math.copysign(1, values[3]) == -1
    assert read[0].nulls is None  # NaN is a value here; nulls are only NULLs


@pytest.mark.parametrize("chunk", [1, 7, 19, 100, 8192])
def test_rows_split_across_chunks(chunk: int) -> None:
    # PostgreSQL sends 8 kB at a time: rows, the header and the trailer span
    # chunks anywhere.
    data = _random_columns(700, 0.02, seed=chunk)
    stream = _stream(data)
    reader = CopyColumnsReader(TYPES)
    for start in range(0, len(stream), chunk):
        reader.feed(stream[start : start + chunk])
    _check(reader.finish(), data)


def test_unfinished_stream_is_refused() -> None:
    stream = _stream(_random_columns(50, 0.1, seed=5))
    reader = CopyColumnsReader(TYPES)
    reader.feed(stream[:-2])
    with pytest.raises(CopyFormatError):
        reader.finish()
    reader.feed(stream[-2:])
    assert len(reader.finish()[0]) == 50
    with pytest.raises(CopyFormatError):
        reader.feed(b"\x00")


def test_empty_result() -> None:
    read = read_copy_columns(COPY_HEADER + COPY_TRAILER, TYPES)
    assert [len(c) for c in read] == [0] * len(TYPES)


def test_header_extension_is_skipped() -> None:
    data = _random_columns(10, 0.1, seed=2)
    header = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x03abc"
    body = encode_rows(COLUMNS, data) + COPY_TRAILER
    _check(read_copy_columns(header + body, TYPES), data)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-2],  # no trailer
        lambda s: s[:-40],  # cut inside a row
        lambda s: s + b"\x00",  # bytes after the trailer
        lambda s: b"COPY" + s[4:],  # not a COPY stream
    ],
)
def test_broken_streams_are_refused(mangle: object) -> None:
    stream = _stream(_random_columns(20, 0.1, seed=3))
    with pytest.raises(CopyFormatError):
        read_copy_columns(mangle(stream), TYPES)  # type: ignore[operator]


def test_other_types_are_refused() -> None:
    # The stream holds bigints; read as integers they do not fit.
    stream = _stream(_random_columns(20, 0.0, seed=4))
    wrong = [*TYPES[:3], FIXED_WIDTH_TYPES[23], *TYPES[4:]]
    with pytest.raises(CopyFormatError):
        read_copy_columns(stream, wrong)
    with pytest.raises(CopyFormatError):
        read_copy_columns(stream, TYPES[:-1])  # fewer columns


def test_copy_query_limits_only_when_asked() -> None:
    assert copy_query("SELECT 1", None) == "SELECT 1"
    assert copy_query("SELECT 1", 5) == (
        "SELECT * FROM (SELECT 1) AS rsp_tap_rows LIMIT 5"
    )


def _rows() -> ColumnarRows:
    return ColumnarRows(
        [
            ArrayColumn(np.array([1, 2, 3], dtype=">i8")),
            ArrayColumn(
                np.array([1.5, 0.0, math.nan], dtype=">f8"),
                nulls=np.array([False, True, False]),
            ),
            ArrayColumn(np.array([True, False, False]), np.array([0, 0, 1], bool)),
        ]
    )


def test_columnar_rows_are_a_sequence_of_tuples() -> None:
    rows = _rows()
    assert len(rows) == 3
    assert rows[0] == (1, 1.5, True)
    assert rows[1] == (2, None, False)
    assert rows[-1][2] is None
    assert isinstance(rows[0][0], int)
    assert isinstance(rows[0][2], bool)
    listed = list(rows)
    assert listed[:2] == [(1, 1.5, True), (2, None, False)]
    assert math.isnan(listed[2][1])  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        rows[3]
    assert next(zip(*rows[:2], strict=True)) == (1, 2)


def test_columnar_rows_slice_and_compare() -> None:
    rows = _rows()
    first = rows[:2]
    assert isinstance(first, ColumnarRows)
    assert first == [(1, 1.5, True), (2, None, False)]
    assert first != [(1, 1.5, True)]
    assert rows[:0] == []
    assert rows[2:].columns[1].nulls is None  # no null left in the slice
    assert rows[:1] == rows[:1]


def test_columnar_rows_refuse_ragged_columns() -> None:
    with pytest.raises(ValueError, match="same number"):
        ColumnarRows([ArrayColumn(np.zeros(2)), ArrayColumn(np.zeros(3))])
    with pytest.raises(ValueError, match="at least one"):
        ColumnarRows([])
    with pytest.raises(ValueError, match="null flags"):
        ArrayColumn(np.zeros(2), np.zeros(3, bool))
