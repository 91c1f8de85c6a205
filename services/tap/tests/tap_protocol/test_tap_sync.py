"""``/sync``: parameters, output formats, MAXREC and overflow, errors."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pyarrow.parquet as pq
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from rsp_tap.config import Config
from rsp_tap.main import create_app
from rsp_tap.models.schema import CatalogSchema

from .conftest import BASE_URL, TAP
from .fake_backend import FakeBackend
from .votables import error_message, query_status, read_votable

QUERY = "SELECT objectId, ra, dec, mag_g FROM dp01_dc2_catalogs.object"


async def test_sync_get_answers_binary2_votable(
    client: AsyncClient, backend: FakeBackend
) -> None:
    response = await client.get(f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-votable+xml"
    assert b"<BINARY2>" in response.content
    votable = read_votable(response.content)
    table = votable.get_first_table()
    assert [f.name for f in table.fields] == ["objectId", "ra", "dec", "mag_g"]
    ra = table.fields[1]
    assert str(ra.unit) == "deg"
    assert ra.ucd == "pos.eq.ra"
    assert ra.datatype == "double"
    assert len(table.array) == 10
    infos = {i.name: i.value for i in votable.resources[0].infos}
    assert infos["QUERY"] == QUERY
    assert query_status(response.content) == [("OK", "")]
    assert backend.queries[0].adql == QUERY


async def test_sync_names_are_case_insensitive(client: AsyncClient) -> None:
    response = await client.get(
        f"{TAP}/sync",
        params={"lang": "adql", "query": QUERY, "responseFormat": "csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")


async def test_sync_post_form(client: AsyncClient) -> None:
    response = await client.post(
        f"{TAP}/sync",
        data={"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": "votable/td"},
    )
    assert response.status_code == 200
    assert b"<TABLEDATA>" in response.content
    table = read_votable(response.content).get_first_table()
    assert table.array["objectId"][3] == 3


@pytest.mark.parametrize(
    ("value", "content_type"),
    [
        ("votable", "application/x-votable+xml"),
        ("application/x-votable+xml", "application/x-votable+xml"),
        ("votable/td", "application/x-votable+xml;serialization=TABLEDATA"),
        (
            "application/x-votable+xml;serialization=TABLEDATA",
            "application/x-votable+xml;serialization=TABLEDATA",
        ),
        ("csv", "text/csv;header=present"),
        ("text/csv", "text/csv;header=present"),
        ("tsv", "text/tab-separated-values"),
        ("parquet", "application/vnd.apache.parquet"),
        ("application/vnd.apache.parquet", "application/vnd.apache.parquet"),
    ],
)
async def test_sync_output_formats(
    client: AsyncClient, value: str, content_type: str
) -> None:
    response = await client.get(
        f"{TAP}/sync",
        params={"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": value},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type


async def test_csv_and_tsv_content(client: AsyncClient) -> None:
    params = {"LANG": "ADQL", "QUERY": QUERY, "MAXREC": "3"}
    response = await client.get(
        f"{TAP}/sync", params={**params, "RESPONSEFORMAT": "csv"}
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["objectId", "ra", "dec", "mag_g"]
    assert rows[1] == ["0", "0.25", "0.25", "0.25"]
    assert len(rows) == 4
    response = await client.get(
        f"{TAP}/sync", params={**params, "RESPONSEFORMAT": "tsv"}
    )
    lines = response.text.splitlines()
    assert lines[0].split("\t") == ["objectId", "ra", "dec", "mag_g"]
    assert len(lines) == 4


async def test_parquet_carries_votable_metadata(client: AsyncClient) -> None:
    response = await client.get(
        f"{TAP}/sync",
        params={
            "LANG": "ADQL",
            "QUERY": QUERY,
            "RESPONSEFORMAT": "parquet",
            "MAXREC": 5,
        },
    )
    parquet = pq.ParquetFile(io.BytesIO(response.content))
    table = parquet.read()
    assert table.column_names == ["objectId", "ra", "dec", "mag_g"]
    assert table.num_rows == 5
    metadata = parquet.metadata.metadata
    assert metadata[b"IVOA.VOTable-Parquet.version"] == b"1.0"
    votable = read_votable(metadata[b"IVOA.VOTable-Parquet.content"])
    fields = votable.get_first_table().fields
    assert [f.name for f in fields] == ["objectId", "ra", "dec", "mag_g"]
    assert str(fields[1].unit) == "deg"
    statuses = [i.value for i in votable.resources[0].infos if i.name == "QUERY_STATUS"]
    assert statuses == ["OK", "OVERFLOW"]


async def test_maxrec_overflow(client: AsyncClient, backend: FakeBackend) -> None:
    backend.rows = 50
    response = await client.get(
        f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY, "MAXREC": "20"}
    )
    assert response.status_code == 200
    assert len(read_votable(response.content).get_first_table().array) == 20
    assert query_status(response.content) == [("OK", ""), ("OVERFLOW", "")]


async def test_no_overflow_when_top_asks_for_fewer(
    client: AsyncClient, backend: FakeBackend
) -> None:
    backend.rows = 50
    response = await client.get(
        f"{TAP}/sync",
        params={
            "LANG": "ADQL",
            "QUERY": "SELECT TOP 20 objectId FROM dp01_dc2_catalogs.object",
            "MAXREC": "20",
        },
    )
    assert len(read_votable(response.content).get_first_table().array) == 20
    assert query_status(response.content) == [("OK", "")]


async def test_no_overflow_when_everything_fits(
    client: AsyncClient, backend: FakeBackend
) -> None:
    backend.rows = 20
    response = await client.get(
        f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY, "MAXREC": "20"}
    )
    assert query_status(response.content) == [("OK", "")]


async def test_maxrec_zero_answers_metadata(client: AsyncClient) -> None:
    response = await client.get(
        f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY, "MAXREC": "0"}
    )
    assert response.status_code == 200
    table = read_votable(response.content).get_first_table()
    assert len(table.array) == 0
    assert [f.name for f in table.fields] == ["objectId", "ra", "dec", "mag_g"]
    assert query_status(response.content) == [("OK", ""), ("OVERFLOW", "")]


async def test_default_maxrec(
    make_config: Callable[..., Config],
    catalog_schema: CatalogSchema,
    backend: FakeBackend,
) -> None:
    app = create_app(
        make_config(maxrec_default=7, maxrec_limit=9),
        schema=catalog_schema,
        backend=backend,
    )
    async with (
        LifespanManager(app),
        AsyncClient(
            transport=ASGITransport(app=app),
            base_url=BASE_URL,
            headers={"X-Auth-Request-User": "alice"},
        ) as client,
    ):
        response = await client.get(
            f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY}
        )
        assert len(read_votable(response.content).get_first_table().array) == 7
        over = await client.get(
            f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY, "MAXREC": "10"}
        )
        assert over.status_code == 400
        assert "hard limit of 9" in error_message(over.content)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"QUERY": QUERY}, "LANG is required"),
        ({"LANG": "SQL", "QUERY": QUERY}, "LANG='SQL' is not supported"),
        ({"LANG": "ADQL"}, "QUERY is required"),
        ({"LANG": "ADQL", "QUERY": QUERY, "MAXREC": "ten"}, "not an integer"),
        ({"LANG": "ADQL", "QUERY": QUERY, "MAXREC": "-1"}, "must not be negative"),
        ({"LANG": "ADQL", "QUERY": QUERY, "MAXREC": "99999999999"}, "hard limit"),
        ({"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": "xls"}, "Unsupported"),
        ({"LANG": "ADQL", "QUERY": QUERY, "REQUEST": "getCapabilities"}, "REQUEST"),
        ({"LANG": "ADQL", "QUERY": "SELEKT * FROM x"}, "Query error"),
        ({"LANG": "ADQL", "QUERY": "SELECT * FROM nowhere.nothing"}, "Query error"),
        (
            {"LANG": "ADQL", "QUERY": "SELECT nocolumn FROM dp01_dc2_catalogs.object"},
            "Query error",
        ),
        (
            {"LANG": "ADQL", "QUERY": QUERY, "UPLOAD": "t,file:///etc/passwd"},
            "only http",
        ),
        ({"LANG": "ADQL", "QUERY": QUERY, "UPLOAD": "1t,param:x"}, "identifier"),
        ({"LANG": "ADQL", "QUERY": QUERY, "UPLOAD": "t,param:x"}, "no part"),
    ],
)
async def test_usage_errors_are_dali_400(
    client: AsyncClient, params: dict[str, str], message: str
) -> None:
    response = await client.get(f"{TAP}/sync", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-votable+xml"
    assert message in error_message(response.content)


async def test_sync_needs_a_user(anonymous_client: AsyncClient) -> None:
    response = await anonymous_client.get(
        f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY}
    )
    assert response.status_code == 401
    assert "Authentication required" in error_message(response.content)


async def test_default_user_in_local_tests(
    make_config: Callable[..., Config],
    catalog_schema: CatalogSchema,
    backend: FakeBackend,
) -> None:
    app = create_app(
        make_config(default_user="taplint"), schema=catalog_schema, backend=backend
    )
    async with (
        LifespanManager(app),
        AsyncClient(transport=ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        response = await client.get(
            f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY}
        )
        assert response.status_code == 200
    with pytest.raises(ValueError, match="default_user is allowed only"):
        make_config(default_user="taplint", environment="idfprod")


async def test_sync_timeout_points_at_async(
    make_config: Callable[..., Config],
    catalog_schema: CatalogSchema,
    backend: FakeBackend,
) -> None:
    backend.delay = 5
    app = create_app(
        make_config(sync_timeout=0.2), schema=catalog_schema, backend=backend
    )
    async with (
        LifespanManager(app),
        AsyncClient(
            transport=ASGITransport(app=app),
            base_url=BASE_URL,
            headers={"X-Auth-Request-User": "alice"},
        ) as client,
    ):
        response = await client.get(
            f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY}
        )
    assert response.status_code == 400
    message = error_message(response.content)
    assert "run it as an async job" in message
    assert f"{TAP}/async" in message


async def test_backend_failure_is_a_dali_500_without_trace(
    app: FastAPI, backend: FakeBackend
) -> None:
    backend.error = RuntimeError("secret internals")
    # As uvicorn serves it: the error is answered, not raised to the client.
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(
        transport=transport,
        base_url=BASE_URL,
        headers={"X-Auth-Request-User": "alice"},
    ) as client:
        response = await client.get(
            f"{TAP}/sync", params={"LANG": "ADQL", "QUERY": QUERY}
        )
    assert response.status_code == 500
    message = error_message(response.content)
    assert message == "Internal error of the TAP service"
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


async def test_unknown_route_is_a_dali_404(client: AsyncClient) -> None:
    response = await client.get(f"{TAP}/nothing-here")
    assert response.status_code == 404
    assert error_message(response.content)
