"""Writers given rows held as numpy columns write what they write from tuples."""

from __future__ import annotations

import io
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from rsp_tap.models.columns import ArrayColumn, ColumnarRows
from rsp_tap.models.query import QueryResult
from rsp_tap.models.schema import CatalogColumn, VOTableDatatype
from rsp_tap.results import FORMATS, OutputFormat, find_format, write_result
from rsp_tap.results.binary2 import binary2_columns
from rsp_tap.results.votable import binary2_rows

from .votables import query_status, read_votable

T = VOTableDatatype
NULL = np.array([False, True, False, False])

COLUMNS = (
    CatalogColumn("b", T.boolean),
    CatalogColumn("u8", T.unsignedByte),
    CatalogColumn("i16", T.short),
    CatalogColumn("i32", T.int),
    CatalogColumn("i64", T.long),
    CatalogColumn("f32", T.float),
    CatalogColumn("f64", T.double),
    CatalogColumn("wide", T.double),  # a float4 column sent as a double FIELD
    CatalogColumn("count", T.long),  # an integer sent as a long FIELD
)
ARRAYS = [
    ArrayColumn(np.array([True, False, False, True]), NULL),
    ArrayColumn(np.array([0, 0, 255, 7], dtype=">i2"), NULL),
    ArrayColumn(np.array([-2, 0, 32767, -32768], dtype=">i2"), NULL),
    ArrayColumn(np.array([3, 0, -(2**31), 2**31 - 1], dtype=">i4"), NULL),
    ArrayColumn(np.array([2**40, 0, -(2**63), 2**63 - 1], dtype=">i8"), NULL),
    ArrayColumn(np.array([1.5, 0, math.nan, -math.inf], dtype=">f4"), NULL),
    ArrayColumn(np.array([math.pi, 0, math.nan, -0.0], dtype=">f8"), NULL),
    ArrayColumn(np.array([0.1, 2.5, 0, 1e30], dtype=">f4"), ~NULL),
    ArrayColumn(np.array([1, 2, 3, 4], dtype=">i4")),
]


def _results() -> tuple[QueryResult, QueryResult]:
    columnar = ColumnarRows(ARRAYS)
    rows = [tuple(r) for r in columnar]  # what records would hold
    return QueryResult(COLUMNS, columnar), QueryResult(COLUMNS, rows)


def test_binary2_from_columns_is_byte_identical() -> None:
    columnar, rows = _results()
    assert isinstance(columnar.rows, ColumnarRows)
    fast = binary2_columns(COLUMNS, columnar.rows)
    assert fast is not None
    assert fast == binary2_rows(COLUMNS, rows.rows)
    output = find_format(None)
    assert write_result(columnar, output, query="q") == write_result(
        rows, output, query="q"
    )


def test_binary2_from_columns_reads_back() -> None:
    columnar, _ = _results()
    content = write_result(columnar, find_format(None))
    data = read_votable(content).get_first_table().array
    assert len(data) == 4
    for name in ("b", "u8", "i16", "i32", "i64", "f32", "f64"):
        assert data.mask[1][name], name  # every type's NULL
        assert not data.mask[0][name], name
    assert bool(data[0]["b"]) is True
    assert bool(data[2]["b"]) is False
    assert (data[2]["u8"], data[2]["i16"], data[2]["i64"]) == (255, 32767, -(2**63))
    assert data.mask[2]["f64"]  # NaN: null in BINARY2
    assert data[3]["f32"] == -math.inf
    assert data.mask[0]["wide"]
    assert data[1]["wide"] == 2.5  # a float4 widened exactly
    assert list(data["count"]) == [1, 2, 3, 4]


@pytest.mark.parametrize("name", [f.serialization.value for f in FORMATS])
def test_every_format_writes_the_same(name: str) -> None:
    columnar, rows = _results()
    output = next(f for f in FORMATS if f.serialization.value == name)
    fast = write_result(columnar, output, query="q")
    slow = write_result(rows, output, query="q")
    if name == "parquet":
        fast_table = pq.read_table(io.BytesIO(fast))
        slow_table = pq.read_table(io.BytesIO(slow))
        assert fast_table.schema.equals(slow_table.schema, check_metadata=True)
        # repr: NaN equals NaN, -0.0 differs from 0.0
        assert repr(fast_table.to_pydict()) == repr(slow_table.to_pydict())
    else:
        assert fast == slow


def test_parquet_from_columns_keeps_nulls_and_nans() -> None:
    columnar, _ = _results()
    table = pq.read_table(io.BytesIO(write_result(columnar, find_format("parquet"))))
    assert table.column("b").to_pylist() == [True, None, False, True]
    assert table.column("i64").to_pylist() == [2**40, None, -(2**63), 2**63 - 1]
    f64 = table.column("f64").to_pylist()
    assert f64[1] is None
    assert math.isnan(f64[2])  # a NaN stays a NaN, not a null
    assert str(table.schema.field("u8").type) == "uint8"
    assert str(table.schema.field("count").type) == "int64"


@pytest.mark.parametrize("overflow", [False, True])
def test_empty_result_from_columns(overflow: bool) -> None:
    empty = ColumnarRows([a.slice(slice(0, 0)) for a in ARRAYS])
    result = QueryResult(COLUMNS, empty, overflow=overflow)
    for output in FORMATS:
        assert write_result(result, output)
    content = write_result(result, find_format(None))
    assert len(read_votable(content).get_first_table().array) == 0
    expected = [("OK", ""), ("OVERFLOW", "")] if overflow else [("OK", "")]
    assert query_status(content) == expected


@pytest.mark.parametrize(
    ("column", "array"),
    [
        # An integer that does not fit its FIELD's type.
        (CatalogColumn("small", T.short), ArrayColumn(np.array([1, 2**20], ">i4"))),
        # Floats under an integer FIELD, numbers under a boolean or a string.
        (CatalogColumn("n", T.long), ArrayColumn(np.array([1.0, 2.0], ">f8"))),
        (CatalogColumn("flag", T.boolean), ArrayColumn(np.array([0, 1], ">i2"))),
        (CatalogColumn("s", T.char, arraysize="*"), ArrayColumn(np.array([1, 2]))),
        (CatalogColumn("n", T.int), ArrayColumn(np.array([True, False]))),
    ],
)
def test_other_columns_take_the_row_path(
    column: CatalogColumn, array: ArrayColumn
) -> None:
    rows = ColumnarRows([array])
    assert binary2_columns((column,), rows) is None
    tuples = [tuple(r) for r in rows]
    for output in (find_format(None), find_format("parquet")):
        columnar = _outcome(QueryResult((column,), rows), output)
        general = _outcome(QueryResult((column,), tuples), output)
        if output.serialization.value == "parquet" and isinstance(columnar, bytes):
            assert isinstance(general, bytes)
            columnar = repr(pq.read_table(io.BytesIO(columnar)).to_pydict())
            general = repr(pq.read_table(io.BytesIO(general)).to_pydict())
        # Same bytes, or the same refusal (an integer too large for its FIELD).
        assert columnar == general


def _outcome(result: QueryResult, output: OutputFormat) -> bytes | str:
    try:
        return write_result(result, output)
    except (ValueError, OverflowError) as error:
        return type(error).__name__
