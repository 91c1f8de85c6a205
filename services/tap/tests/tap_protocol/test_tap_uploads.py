"""UPLOAD: inline (multipart) and by URL, limits, and the parsed tables."""

from __future__ import annotations

import io
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest
from asgi_lifespan import LifespanManager
from astropy.io.votable import from_table
from astropy.table import MaskedColumn, Table
from httpx import ASGITransport, AsyncClient
from rsp_tap.config import Config
from rsp_tap.exceptions import UploadError, UploadTooLargeError
from rsp_tap.main import create_app
from rsp_tap.models.schema import CatalogSchema, VOTableDatatype
from rsp_tap.services.uploads import parse_upload_parameter, parse_votable_upload

from .conftest import BASE_URL, TAP, empty_job_store
from .fake_backend import FakeBackend
from .uws import UWS, create_job, wait_for_phase
from .votables import error_message, read_votable


def votable_bytes(rows: int = 3) -> bytes:
    """A small VOTable of positions with a masked value and a string column."""
    table = Table()
    table["id"] = np.arange(rows, dtype=np.int32)
    table["ra"] = np.linspace(61.8, 61.9, rows)
    table["ra"].unit = "deg"
    table["dec"] = MaskedColumn(
        np.linspace(-35.8, -35.7, rows), mask=[i == 1 for i in range(rows)]
    )
    table["label"] = [f"star {i}" for i in range(rows)]
    table["flag"] = [i % 2 == 0 for i in range(rows)]
    out = io.BytesIO()
    from_table(table).to_xml(out)
    return out.getvalue()


def test_parse_votable_upload_types_and_values() -> None:
    upload = parse_votable_upload("mine", votable_bytes(), max_rows=10)
    table = upload.table
    assert table.qualified_name == "TAP_UPLOAD.mine"
    types = {c.name: c.datatype for c in table.columns}
    assert types == {
        "id": VOTableDatatype.int,
        "ra": VOTableDatatype.double,
        "dec": VOTableDatatype.double,
        "label": VOTableDatatype.unicodeChar,
        "flag": VOTableDatatype.boolean,
    }
    assert table.column("RA").unit == "deg"  # type: ignore[union-attr]
    assert upload.rows[0] == (0, 61.8, -35.8, "star 0", True)
    assert upload.rows[1][2] is None
    assert isinstance(upload.rows[2][0], int)


def test_parse_votable_upload_refusals() -> None:
    with pytest.raises(UploadTooLargeError, match="at most 2"):
        parse_votable_upload("mine", votable_bytes(3), max_rows=2)
    with pytest.raises(UploadError, match="not a readable VOTable"):
        parse_votable_upload("mine", b"id,ra\n1,2\n", max_rows=10)
    with pytest.raises(UploadError, match="not a readable VOTable"):
        parse_votable_upload("mine", b"<VOTABLE><RESOURCE>", max_rows=10)
    bad_time = TIMESTAMPS.replace(b"2000-01-02T00:14:24", b"yesterday")
    with pytest.raises(UploadError, match="not an ISO 8601 time"):
        parse_votable_upload("mine", bad_time, max_rows=10)


TIMESTAMPS = b"""<?xml version="1.0"?>
<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE><TABLE>
<FIELD name="t" datatype="char" arraysize="*" xtype="timestamp"/>
<DATA><TABLEDATA>
<TR><TD>2000-01-01T00:00:00Z</TD></TR>
<TR><TD>2000-01-02T00:14:24</TD></TR>
<TR><TD></TD></TR>
</TABLEDATA></DATA>
</TABLE></RESOURCE>
</VOTABLE>
"""


def test_upload_timestamps_become_times() -> None:
    upload = parse_votable_upload("times", TIMESTAMPS, max_rows=10)
    assert upload.table.columns[0].xtype == "timestamp"
    assert [r[0] for r in upload.rows] == [
        datetime(2000, 1, 1),
        datetime(2000, 1, 2, 0, 14, 24),
        None,
    ]


def test_parse_upload_parameter() -> None:
    sources = parse_upload_parameter(["a,param:x;b,https://example.org/b.xml"], 5)
    assert [(s.name, s.part) for s in sources] == [("a", "x"), ("b", None)]
    for value, message in (
        ("a", "not name,URI"),
        ("a,ftp://x", "only http"),
        ("a,param:", "names no part"),
        ("a b,param:x", "identifier"),
        ("a,param:x;A,param:y", "twice"),
        (";".join(f"t{i},param:p{i}" for i in range(6)), "At most 5"),
    ):
        with pytest.raises(UploadError, match=message):
            parse_upload_parameter([value], 5)


async def test_inline_upload_in_sync_query(
    client: AsyncClient, backend: FakeBackend
) -> None:
    response = await client.post(
        f"{TAP}/sync",
        data={
            "LANG": "ADQL",
            "QUERY": "SELECT id, ra, dec, label FROM TAP_UPLOAD.mine",
            "UPLOAD": "mine,param:table1",
        },
        files={"table1": ("mine.xml", votable_bytes(), "application/x-votable+xml")},
    )
    assert response.status_code == 200, response.text
    table = read_votable(response.content).get_first_table()
    assert list(table.array["id"]) == [0, 1, 2]
    assert list(table.array["label"]) == ["star 0", "star 1", "star 2"]
    sent = backend.queries[-1]
    assert sent.uploads[0].table.name == "mine"


async def test_upload_join_translates(
    client: AsyncClient, backend: FakeBackend
) -> None:
    query = (
        "SELECT o.objectId, t.id FROM dp01_dc2_catalogs.object AS o"
        " JOIN TAP_UPLOAD.mine AS t"
        " ON 1 = CONTAINS(POINT('ICRS', o.ra, o.dec),"
        " CIRCLE('ICRS', t.ra, t.dec, 0.01))"
    )
    response = await client.post(
        f"{TAP}/sync",
        data={"LANG": "ADQL", "QUERY": query, "UPLOAD": "mine,param:t"},
        files={"t": ("t.xml", votable_bytes(), "application/x-votable+xml")},
    )
    assert response.status_code == 200, response.text
    assert "tap_upload" in backend.queries[-1].sql.lower()


async def test_inline_upload_in_async_job(client: AsyncClient) -> None:
    response = await client.post(
        f"{TAP}/async",
        data={
            "LANG": "ADQL",
            "QUERY": "SELECT id, label FROM TAP_UPLOAD.mine",
            "UPLOAD": "mine,param:t",
            "PHASE": "RUN",
        },
        files={"t": ("t.xml", votable_bytes(), "application/x-votable+xml")},
    )
    assert response.status_code == 303
    job_id = response.headers["location"].rsplit("/", 1)[1]
    await wait_for_phase(client, job_id, "COMPLETED")
    result = await client.get(
        f"{TAP}/async/{job_id}/results/result", follow_redirects=True
    )
    table = read_votable(result.content).get_first_table()
    assert list(table.array["label"]) == ["star 0", "star 1", "star 2"]


async def test_async_upload_part_must_be_present(client: AsyncClient) -> None:
    job_id = await create_job(
        client, QUERY="SELECT * FROM TAP_UPLOAD.m", UPLOAD="m,param:t", PHASE="RUN"
    )
    job = await wait_for_phase(client, job_id, "ERROR", "COMPLETED")
    message = job.findtext(f"{UWS}errorSummary/{UWS}message") or ""
    assert "no part 't'" in message


async def test_huge_upload_is_refused(
    make_config: Callable[..., Config],
    catalog_schema: CatalogSchema,
    backend: FakeBackend,
) -> None:
    app = create_app(
        make_config(upload_max_bytes=2000, upload_max_tables=1),
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
        data = {
            "LANG": "ADQL",
            "QUERY": "SELECT * FROM TAP_UPLOAD.t",
            "UPLOAD": "t,param:t",
        }
        # Larger than any request may be: refused from Content-Length.
        huge = b"<" + b"x" * 5_000_000
        response = await client.post(
            f"{TAP}/sync", data=data, files={"t": ("t.xml", huge, "text/xml")}
        )
        assert response.status_code == 413
        assert "larger than the limit" in error_message(response.content)
        # Within the request limit but over the table limit.
        response = await client.post(
            f"{TAP}/sync",
            data=data,
            files={"t": ("t.xml", votable_bytes(40), "text/xml")},
        )
        assert response.status_code == 413
        assert "larger than the limit of 2000 bytes" in error_message(response.content)
        assert backend.queries == []


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes, dict[str, str]]]] = {}

    def do_GET(self) -> None:
        status, body, headers = self.routes.get(self.path, (404, b"", {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def table_server() -> Iterator[str]:
    """A local HTTP server of VOTables; its base URL."""
    _Handler.routes = {
        "/t.xml": (200, votable_bytes(), {"Content-Type": "text/xml"}),
        "/big.xml": (200, votable_bytes(2000), {"Content-Type": "text/xml"}),
        "/hop.xml": (302, b"", {"Location": "/t.xml"}),
        "/moved.xml": (302, b"", {"Location": "http://169.254.169.254/"}),
        "/file.xml": (301, b"", {"Location": "file:///etc/passwd"}),
        "/loop.xml": (302, b"", {"Location": "/loop.xml"}),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def local_client(
    make_config: Callable[..., Config],
    catalog_schema: CatalogSchema,
    backend: FakeBackend,
    job_database_url: str,
) -> AsyncIterator[AsyncClient]:
    """A client of an app that may fetch uploads from loopback (tests, local)."""
    app = create_app(
        make_config(upload_url_allow_private_networks=True),
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
        yield client
    await empty_job_store(job_database_url)


async def test_upload_by_url(local_client: AsyncClient, table_server: str) -> None:
    client = local_client
    params = {"LANG": "ADQL", "QUERY": "SELECT id, label FROM TAP_UPLOAD.remote"}
    for path in ("/t.xml", "/hop.xml"):
        response = await client.get(
            f"{TAP}/sync", params={**params, "UPLOAD": f"remote,{table_server}{path}"}
        )
        assert response.status_code == 200, response.text
        table = read_votable(response.content).get_first_table()
        assert list(table.array["label"]) == ["star 0", "star 1", "star 2"]
    job_id = await create_job(
        client, **params, UPLOAD=f"remote,{table_server}/t.xml", PHASE="RUN"
    )
    await wait_for_phase(client, job_id, "COMPLETED")
    for path, message in (
        ("/moved.xml", "169.254.169.254, which is a cloud metadata service"),
        ("/file.xml", "is not an http or https URL"),
        ("/loop.xml", "redirects more than 5 times"),
        ("/none.xml", "answered HTTP 404"),
    ):
        response = await client.get(
            f"{TAP}/sync", params={**params, "UPLOAD": f"remote,{table_server}{path}"}
        )
        assert response.status_code == 400, path
        assert message in error_message(response.content), path
    response = await client.get(
        f"{TAP}/sync", params={**params, "UPLOAD": "remote,http://127.0.0.1:1/t.xml"}
    )
    assert response.status_code == 400
    assert "cannot fetch" in error_message(response.content)


async def test_upload_by_url_is_bounded(
    make_config: Callable[..., Config],
    catalog_schema: CatalogSchema,
    backend: FakeBackend,
    table_server: str,
) -> None:
    app = create_app(
        make_config(upload_max_bytes=10_000, upload_url_allow_private_networks=True),
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
            f"{TAP}/sync",
            params={
                "LANG": "ADQL",
                "QUERY": "SELECT * FROM TAP_UPLOAD.big",
                "UPLOAD": f"big,{table_server}/big.xml",
            },
        )
    assert response.status_code == 413
    assert "larger than the limit" in error_message(response.content)
