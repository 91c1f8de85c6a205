"""Bad input against the running service on the real catalog.

Every attempt gets a DALI error document (or, for harmless text, a normal
answer) and never a server error; afterwards the catalogs and TAP_SCHEMA
hold exactly what was loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from .live import LiveTap
from .votables import error_message

ERRORS = [
    # Not ADQL at all.
    "SELEC * FROM dp01_dc2_catalogs.object",
    "SELECT FROM dp01_dc2_catalogs.object",
    "SELECT TOP 1 objectId FROM",
    "'; DROP TABLE dp01_dc2_catalogs.object; --",
    # Unknown tables and columns.
    "SELECT * FROM dp01_dc2_catalogs.nothing",
    "SELECT nothing FROM dp01_dc2_catalogs.object",
    "SELECT o.ra FROM dp01_dc2_catalogs.object AS p",
    # Other schemas of the database.
    "SELECT * FROM pg_catalog.pg_authid",
    "SELECT * FROM pg_catalog.pg_user",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM public.anything",
    "SELECT * FROM tap_uws.job",
    "SELECT * FROM tap_uws.job_upload",
    # Writes, and several statements.
    "DELETE FROM dp01_dc2_catalogs.object",
    "UPDATE dp01_dc2_catalogs.object SET ra = 0",
    "INSERT INTO dp01_dc2_catalogs.object (objectId) VALUES (1)",
    "DROP TABLE dp01_dc2_catalogs.object",
    "SELECT 1; DROP TABLE dp01_dc2_catalogs.object",
    "SELECT TOP 1 objectId FROM dp01_dc2_catalogs.object; DELETE FROM"
    " dp01_dc2_catalogs.object",
    # Functions that are not ADQL.
    "SELECT pg_sleep(30) FROM dp01_dc2_catalogs.object",
    "SELECT TOP 1 pg_read_file('/etc/passwd') FROM dp01_dc2_catalogs.object",
    "SELECT TOP 1 current_setting('data_directory') FROM dp01_dc2_catalogs.object",
    "SELECT TOP 1 lo_import('/etc/passwd') FROM dp01_dc2_catalogs.object",
]
"""Queries that must be refused."""

HARMLESS = [
    # Comments and quoting that only look like injection.
    "SELECT TOP 1 objectId FROM dp01_dc2_catalogs.object -- ; DROP TABLE x",
    "SELECT TOP 1 objectId /* ; DROP TABLE x */ FROM dp01_dc2_catalogs.object",
    "SELECT TOP 1 objectId FROM dp01_dc2_catalogs.object"
    " WHERE 'a'';DROP TABLE dp01_dc2_catalogs.object;--' = 'b'",
    'SELECT TOP 1 "objectId; DROP TABLE x; --" FROM dp01_dc2_catalogs.object',
    'SELECT TOP 1 objectId AS "x""; DROP TABLE y" FROM dp01_dc2_catalogs.object',
]
"""Queries that may run or be refused, but must not do anything else."""


@pytest.fixture(scope="module")
def client(live_tap: LiveTap) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_tap.url, headers={"X-Auth-Request-User": "mallory"}, timeout=60
    ) as c:
        yield c


def _counts(live: LiveTap) -> dict[str, int]:
    async def count() -> dict[str, int]:
        connection = await asyncpg.connect(live.catalog.owner_dsn)
        try:
            tables = await connection.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_schema IN ('dp01_dc2_catalogs', 'TAP_SCHEMA')"
            )
            return {
                f"{t['table_schema']}.{t['table_name']}": await connection.fetchval(
                    f'SELECT count(*) FROM "{t["table_schema"]}"."{t["table_name"]}"'
                )
                for t in tables
            }
        finally:
            await connection.close()

    return asyncio.run(count())


@pytest.fixture(scope="module")
def counts_before(live_tap: LiveTap) -> dict[str, int]:
    counts = _counts(live_tap)
    assert counts["dp01_dc2_catalogs.object"] == live_tap.catalog.scale
    return counts


@pytest.mark.parametrize("query", ERRORS)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_refused(
    client: httpx.Client, counts_before: dict[str, int], query: str, mode: str
) -> None:
    data = {"LANG": "ADQL", "QUERY": query}
    if mode == "sync":
        response = client.post("/sync", data=data)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/x-votable+xml"
        assert error_message(response.content)
        assert b"Traceback" not in response.content
        return
    response = client.post("/async", data={**data, "PHASE": "RUN"})
    assert response.status_code == 303
    job = client.get(response.headers["location"], params={"WAIT": 10})
    for _ in range(10):
        if b"<uws:phase>ERROR</uws:phase>" in job.content:
            break
        job = client.get(response.headers["location"], params={"WAIT": 3})
    assert b"<uws:phase>ERROR</uws:phase>" in job.content, job.text
    error = client.get(response.headers["location"] + "/error")
    assert error.status_code == 200
    assert error_message(error.content)


@pytest.mark.parametrize("query", HARMLESS)
def test_harmless_looking_tricks(
    client: httpx.Client, counts_before: dict[str, int], query: str
) -> None:
    response = client.post("/sync", data={"LANG": "ADQL", "QUERY": query})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert error_message(response.content)


def test_maxrec_over_the_hard_limit(client: httpx.Client) -> None:
    response = client.get(
        "/sync",
        params={
            "LANG": "ADQL",
            "QUERY": "SELECT objectId FROM dp01_dc2_catalogs.object",
            "MAXREC": "50001",
        },
    )
    assert response.status_code == 400
    assert "hard limit" in error_message(response.content)


def test_huge_upload(client: httpx.Client) -> None:
    response = client.post(
        "/sync",
        data={
            "LANG": "ADQL",
            "QUERY": "SELECT * FROM TAP_UPLOAD.t",
            "UPLOAD": "t,param:t",
        },
        files={"t": ("t.xml", b"<" * 20_000_000, "text/xml")},
    )
    assert response.status_code == 413
    assert "larger than the limit" in error_message(response.content)


def test_another_users_job(client: httpx.Client, live_tap: LiveTap) -> None:
    created = client.post(
        "/async",
        data={
            "LANG": "ADQL",
            "QUERY": "SELECT TOP 1 objectId FROM dp01_dc2_catalogs.object",
        },
    )
    location = created.headers["location"]
    with httpx.Client(headers={"X-Auth-Request-User": "eve"}) as eve:
        for path in ("", "/phase", "/parameters", "/results/result", "/error"):
            response = eve.get(location + path)
            assert response.status_code == 404
            assert "No job" in error_message(response.content)
        assert eve.delete(location).status_code == 404
        assert eve.post(location, data={"ACTION": "DELETE"}).status_code == 404
    assert client.get(location).status_code == 200


def test_data_unchanged(
    live_tap: LiveTap, client: httpx.Client, counts_before: dict[str, int]
) -> None:
    # Runs after the attempts above (file order): nothing was changed.
    assert _counts(live_tap) == counts_before
    response = client.get(
        "/sync",
        params={
            "LANG": "ADQL",
            "QUERY": "SELECT COUNT(*) AS n FROM dp01_dc2_catalogs.object",
            "RESPONSEFORMAT": "csv",
        },
    )
    assert response.text.splitlines()[1] == str(live_tap.catalog.scale)
