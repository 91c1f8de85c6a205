"""Result writers: every datatype and null round-trips through astropy."""

from __future__ import annotations

import io
import math
import random
import time
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from rsp_tap.models.query import QueryResult
from rsp_tap.models.schema import CatalogColumn, VOTableDatatype
from rsp_tap.results import FORMATS, Serialization, find_format, write_result
from rsp_tap.results.votable import error_document

from .votables import error_message, query_status, read_votable

T = VOTableDatatype

COLUMNS = (
    CatalogColumn("b", T.boolean),
    CatalogColumn("u8", T.unsignedByte),
    CatalogColumn("i16", T.short),
    CatalogColumn("i32", T.int, unit="count"),
    CatalogColumn("i64", T.long, ucd="meta.id"),
    CatalogColumn("f32", T.float),
    CatalogColumn("f64", T.double, unit="deg", description="a <double> & more"),
    CatalogColumn("s", T.char, arraysize="*"),
    CatalogColumn("fixed", T.char, arraysize="4"),
    CatalogColumn("u", T.unicodeChar, arraysize="*"),
    CatalogColumn("when", T.char, arraysize="*", xtype="timestamp"),
    CatalogColumn("point", T.double, arraysize="2", xtype="point", unit="deg"),
    CatalogColumn("many", T.int, arraysize="*"),
)
ROWS = [
    (
        True,
        1,
        -2,
        3,
        2**40,
        1.5,
        math.pi,
        "abc",
        "wxyz",
        "été",
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        (10.0, -20.0),
        [1, 2, 3],
    ),
    (None, None, None, None, None, None, None, None, None, None, None, None, None),
    (
        False,
        255,
        32767,
        -(2**31),
        -(2**63),
        math.nan,
        -0.0,
        "",
        "a",
        "日本",
        datetime(2026, 1, 2),
        (0.0, 0.0),
        [],
    ),
]


def _table(serialization: Serialization) -> object:
    output = next(f for f in FORMATS if f.serialization is serialization)
    content = write_result(QueryResult(COLUMNS, ROWS), output, query="SELECT 1")
    return read_votable(content).get_first_table()


@pytest.mark.parametrize(
    "serialization", [Serialization.BINARY2, Serialization.TABLEDATA]
)
def test_votable_round_trip(serialization: Serialization) -> None:
    table = _table(serialization)
    fields = {f.name: f for f in table.fields}  # type: ignore[attr-defined]
    assert fields["i32"].unit == "count"
    assert fields["i64"].ucd == "meta.id"
    assert fields["f64"].description == "a <double> & more"
    assert fields["s"].arraysize == "*"
    assert fields["fixed"].arraysize == "4*"
    assert fields["when"].xtype == "timestamp"
    assert fields["point"].xtype == "point"
    data = table.array  # type: ignore[attr-defined]
    first = data[0]
    assert bool(first["b"]) is True
    assert (first["u8"], first["i16"], first["i32"], first["i64"]) == (1, -2, 3, 2**40)
    assert first["f32"] == 1.5
    assert first["f64"] == math.pi
    assert (first["s"], first["fixed"], first["u"]) == ("abc", "wxyz", "été")
    assert first["when"] == "2026-01-02T03:04:05"
    assert list(first["point"]) == [10.0, -20.0]
    assert list(first["many"]) == [1, 2, 3]
    for name in ("b", "u8", "i16", "i32", "i64", "f32", "f64"):
        assert data.mask[1][name], name
    third = data[2]
    assert (third["u8"], third["i16"], third["i32"], third["i64"]) == (
        255,
        32767,
        -(2**31),
        -(2**63),
    )
    assert data.mask[2]["f32"]  # astropy reads a float NaN as null
    assert third["u"] == "日本"
    assert third["fixed"] == "a"
    assert list(third["many"]) == []


def test_csv_and_parquet_nulls() -> None:
    result = QueryResult(COLUMNS, ROWS)
    text = write_result(result, find_format("csv")).decode()
    lines = text.splitlines()
    assert lines[0].split(",")[:3] == ["b", "u8", "i16"]
    assert lines[2] == "," * (len(COLUMNS) - 1)
    assert "10.0 -20.0" in lines[1]
    parquet = pq.read_table(io.BytesIO(write_result(result, find_format("parquet"))))
    assert parquet.column("i64").to_pylist() == [2**40, None, -(2**63)]
    assert parquet.column("point").to_pylist()[0] == [10.0, -20.0]
    assert parquet.column("when").to_pylist()[0] == "2026-01-02T03:04:05"


def test_duplicate_names_in_parquet() -> None:
    columns = (CatalogColumn("ra", T.double), CatalogColumn("ra", T.double))
    content = write_result(QueryResult(columns, [(1.0, 2.0)]), find_format("parquet"))
    assert pq.read_table(io.BytesIO(content)).column_names == ["ra", "ra_2"]


def test_query_and_messages_with_control_characters() -> None:
    result = QueryResult((CatalogColumn("s", T.char, arraysize="*"),), [("a\x00b",)])
    content = write_result(result, find_format("votable/td"), query="SELECT '\x01'")
    table = read_votable(content).get_first_table()
    assert table.array["s"][0] == "a?b"
    message = error_message(error_document("bad \x00 input <here>"))
    assert message == "bad ? input <here>"


def test_empty_result() -> None:
    for output in FORMATS:
        content = write_result(QueryResult(COLUMNS, []), output)
        assert content
    content = write_result(QueryResult(COLUMNS, [], overflow=True), find_format(None))
    assert query_status(content) == [("OK", ""), ("OVERFLOW", "")]


def test_binary2_of_20000_rows_is_fast() -> None:
    random.seed(3)
    columns = (
        CatalogColumn("objectId", T.long),
        CatalogColumn("ra", T.double),
        CatalogColumn("dec", T.double),
        *(CatalogColumn(f"mag_{b}", T.double) for b in "ugrizy"),
        CatalogColumn("extendedness", T.float),
        CatalogColumn("good", T.boolean),
        CatalogColumn("name", T.char, arraysize="*"),
    )
    rows = [
        (
            i,
            random.uniform(50, 75),
            random.uniform(-45, -25),
            *(None if i % 11 == 0 else random.uniform(18, 28) for _ in range(6)),
            0.5,
            i % 3 == 0,
            f"obj{i}",
        )
        for i in range(20_000)
    ]
    result = QueryResult(columns, rows)
    output = find_format("votable")
    write_result(result, output)  # warm up
    best = min(_timed(lambda: write_result(result, output)) for _ in range(3))
    # A few tens of ms here; the bound leaves room for a busy machine.
    assert best < 0.25, f"BINARY2 of 20,000 rows took {best * 1000:.0f} ms"
    table = read_votable(write_result(result, output)).get_first_table()
    assert len(table.array) == 20_000
    assert table.array["name"][19_999] == "obj19999"
    assert table.array.mask[0]["mag_u"]


def _timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start
