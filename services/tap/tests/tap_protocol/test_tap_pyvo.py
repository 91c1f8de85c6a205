"""pyvo against the running service on the real (small) catalog.

The session sends ``X-Auth-Request-User`` as the ingress would; results are
checked against the catalog itself, read as its owner.
"""

from __future__ import annotations

import asyncio
import io
import math
import time
from collections.abc import Iterator

import asyncpg
import numpy as np
import pyarrow.parquet as pq
import pytest
import pyvo
import requests
from astropy.table import Table
from pyvo.dal import DALOverflowWarning, DALQueryError

from .live import LiveTap
from .votables import read_votable

CONE = (
    "SELECT objectId, ra, dec, mag_g, mag_i FROM dp01_dc2_catalogs.object"
    " WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra}, {dec}, {r})) = 1"
)


def _owner_fetch(live: LiveTap, sql: str) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(live.catalog.owner_dsn)
        try:
            return list(await connection.fetch(sql))
        finally:
            await connection.close()

    return asyncio.run(fetch())


def _session(user: str) -> requests.Session:
    session = requests.Session()
    session.headers["X-Auth-Request-User"] = user
    return session


@pytest.fixture
def service(live_tap: LiveTap) -> Iterator[pyvo.dal.TAPService]:
    session = _session("alice")
    yield pyvo.dal.TAPService(live_tap.url, session=session)
    session.close()


def _centre(live: LiveTap) -> tuple[float, float]:
    (row,) = _owner_fetch(
        live,
        'SELECT ra, dec FROM "dp01_dc2_catalogs"."object" ORDER BY "objectId" LIMIT 1',
    )
    return float(row["ra"]), float(row["dec"])


def test_capabilities_and_limits(service: pyvo.dal.TAPService) -> None:
    assert service.maxrec == 1000
    assert service.hardlimit == 50_000
    methods = {m.ivo_id for m in service.upload_methods}
    assert "ivo://ivoa.net/std/TAPRegExt#upload-inline" in methods
    capability = service.get_tap_capability()
    languages = {v.content for lang in capability.languages for v in lang.versions}
    assert languages == {"2.0", "2.1"}
    mimes = {f.mime for f in capability.outputformats}
    assert "application/vnd.apache.parquet" in mimes


def test_tables(service: pyvo.dal.TAPService) -> None:
    tables = service.tables
    names = list(tables.keys())
    assert "dp01_dc2_catalogs.object" in names
    assert "TAP_SCHEMA.columns" in names
    columns = {c.name: c for c in tables["dp01_dc2_catalogs.object"].columns}
    assert columns["ra"].unit == "deg"
    assert columns["objectId"].datatype.content == "long"


def test_run_sync_cone_search(service: pyvo.dal.TAPService, live_tap: LiveTap) -> None:
    ra, dec = _centre(live_tap)
    result = service.run_sync(CONE.format(ra=ra, dec=dec, r=1.0))
    table = result.to_table()
    assert len(table) > 0
    for row in table:
        # The angular distance is at most the radius (small-angle check).
        dra = (row["ra"] - ra) * math.cos(math.radians(dec))
        assert math.hypot(dra, row["dec"] - dec) <= 1.0 + 1e-6
    expected = _owner_fetch(
        live_tap,
        'SELECT count(*) AS n FROM "dp01_dc2_catalogs"."object" WHERE'
        f" spoint(radians(ra), radians(dec)) <@ scircle(spoint(radians({ra}),"
        f" radians({dec})), radians(1.0))",
    )[0]["n"]
    assert len(table) == expected
    assert table["ra"].unit == "deg"


def test_maxrec_and_overflow(service: pyvo.dal.TAPService) -> None:
    query = "SELECT objectId FROM dp01_dc2_catalogs.object"
    result = service.run_sync(query, maxrec=7)
    assert len(result) == 7
    assert result.query_status == "OVERFLOW"
    # Without MAXREC the service's default applies and pyvo warns of it.
    with pytest.warns(DALOverflowWarning):
        service.run_sync(query)
    top = service.run_sync(
        "SELECT TOP 7 objectId FROM dp01_dc2_catalogs.object", maxrec=7
    )
    assert len(top) == 7
    assert top.query_status == "OK"
    with pytest.raises(DALQueryError, match="hard limit"):
        service.run_sync(query, maxrec=service.hardlimit + 1)


def test_run_async(service: pyvo.dal.TAPService) -> None:
    result = service.run_async(
        "SELECT TOP 20 objectId, ra, dec FROM dp01_dc2_catalogs.object"
        " ORDER BY objectId"
    )
    ids = list(result.to_table()["objectId"])
    assert len(ids) == 20
    assert ids == sorted(ids)


def test_job_life_cycle(service: pyvo.dal.TAPService, live_tap: LiveTap) -> None:
    job = service.submit_job(
        "SELECT COUNT(*) AS n FROM dp01_dc2_catalogs.object", maxrec=10
    )
    assert job.phase == "PENDING"
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"])
    assert job.phase == "COMPLETED"
    result = job.fetch_result()
    assert int(result.to_table()["n"][0]) == live_tap.catalog.scale
    assert job.owner == "alice"
    url = job.url
    job.delete()
    with pytest.raises(pyvo.dal.DALServiceError, match="404"):
        pyvo.dal.AsyncTAPJob(url, session=_session("alice"))


def test_abort_stops_the_query(service: pyvo.dal.TAPService, live_tap: LiveTap) -> None:
    slow = (
        "SELECT COUNT(*) AS n FROM dp01_dc2_catalogs.forced_photometry AS a,"
        " dp01_dc2_catalogs.forced_photometry AS b,"
        " dp01_dc2_catalogs.forced_photometry AS c"
    )

    def running() -> int:
        # The query's own backend: parallel workers, which a query read by
        # COPY may get, come and go with it.
        rows = _owner_fetch(
            live_tap,
            "SELECT count(*) AS n FROM pg_stat_activity"
            " WHERE state = 'active' AND datname = current_database()"
            " AND backend_type = 'client backend'"
            f" AND usename = '{live_tap.catalog.reader_role}'",
        )
        return int(rows[0]["n"])

    def settle(want_running: bool) -> None:
        for _ in range(100):
            if (running() > 0) == want_running:
                return
            time.sleep(0.05)

    job = service.submit_job(slow)
    job.run()
    job.wait(phases=["EXECUTING", "COMPLETED", "ERROR"])
    assert job.phase == "EXECUTING"
    settle(want_running=True)
    assert running() == 1
    job.abort()
    assert job.phase == "ABORTED"
    settle(want_running=False)
    assert running() == 0, _owner_fetch(
        live_tap,
        "SELECT pid, state, application_name, usename, query FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    job.delete()


def test_another_users_job(service: pyvo.dal.TAPService, live_tap: LiveTap) -> None:
    job = service.submit_job("SELECT TOP 1 objectId FROM dp01_dc2_catalogs.object")
    bob = requests.Session()
    bob.headers["X-Auth-Request-User"] = "bob"
    for method, path in (("GET", ""), ("GET", "/phase"), ("DELETE", "")):
        response = bob.request(method, job.url + path, allow_redirects=False)
        assert response.status_code == 404
        assert b'value="ERROR"' in response.content
    response = bob.post(
        job.url + "/phase", data={"PHASE": "RUN"}, allow_redirects=False
    )
    assert response.status_code == 404
    assert job.phase == "PENDING"
    job.delete()


def test_upload_join(service: pyvo.dal.TAPService, live_tap: LiveTap) -> None:
    rows = _owner_fetch(
        live_tap,
        'SELECT "objectId", ra, dec FROM "dp01_dc2_catalogs"."object"'
        ' ORDER BY "objectId" LIMIT 5',
    )
    mine = Table(
        {
            "id": np.arange(5, dtype=np.int32),
            "ra": [float(r["ra"]) for r in rows],
            "dec": [float(r["dec"]) for r in rows],
        }
    )
    result = service.run_sync(
        "SELECT m.id, o.objectId FROM TAP_UPLOAD.mine AS m"
        " JOIN dp01_dc2_catalogs.object AS o"
        " ON 1 = CONTAINS(POINT('ICRS', o.ra, o.dec),"
        " CIRCLE('ICRS', m.ra, m.dec, 0.0001))",
        uploads={"mine": mine},
    ).to_table()
    pairs = {(int(r["id"]), int(r["objectId"])) for r in result}
    assert {(i, int(r["objectId"])) for i, r in enumerate(rows)} <= pairs


@pytest.mark.parametrize("output", ["votable", "votable/td", "csv", "tsv", "parquet"])
def test_each_output_format(service: pyvo.dal.TAPService, output: str) -> None:
    query = service.create_query(
        "SELECT TOP 5 objectId, ra, dec, mag_r FROM dp01_dc2_catalogs.object"
        " ORDER BY objectId",
        RESPONSEFORMAT=output,
    )
    content = query.execute_stream().read()
    if output.startswith("votable"):
        table = read_votable(content).get_first_table().to_table()
    elif output == "parquet":
        table = Table(pq.read_table(io.BytesIO(content)).to_pydict())
    else:
        table = Table.read(
            content.decode(), format="ascii.csv" if output == "csv" else "ascii.tab"
        )
    assert list(table.colnames) == ["objectId", "ra", "dec", "mag_r"]
    assert len(table) == 5
    assert list(table["objectId"]) == sorted(table["objectId"])
