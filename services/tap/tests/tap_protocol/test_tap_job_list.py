"""Job lists stay fast with many jobs: every query is an index scan on owner."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import asyncpg
from httpx import AsyncClient

from .conftest import TAP, empty_job_store
from .uws import UWS

JOBS_PER_USER = 5000


async def _insert_jobs(url: str) -> None:
    # Only these jobs: the expected listings are exact, so a job left by an
    # earlier test sharing the job store must not be in them.
    await empty_job_store(url)
    now = datetime.now(tz=UTC)
    rows = [
        (
            f"{owner[0]}{i:015d}",
            owner,
            "COMPLETED" if i % 3 else "ERROR",
            '[["QUERY", "SELECT 1"]]',
            now - timedelta(seconds=JOBS_PER_USER - i),
            600,
            now + timedelta(days=7),
        )
        for owner in ("alice", "zed")
        for i in range(JOBS_PER_USER)
    ]
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.executemany(
            "INSERT INTO tap_uws.job (id, owner, phase, parameters, creation_time,"
            " execution_duration, destruction_time, error_transient, result_overflow)"
            " VALUES ($1, $2, $3, $4::json, $5, $6, $7, false, false)",
            rows,
        )
        await connection.execute("ANALYZE tap_uws.job")
        plan_rows = await connection.fetch(
            "EXPLAIN (FORMAT TEXT) SELECT * FROM tap_uws.job WHERE owner = 'alice'"
            " AND phase <> 'ARCHIVED' ORDER BY creation_time DESC, id DESC LIMIT 10"
        )
        plan = "\n".join(r[0] for r in plan_rows)
        assert "Index Scan" in plan, plan
    finally:
        await connection.close()


async def test_job_list_with_many_jobs(
    client: AsyncClient, job_database_url: str
) -> None:
    await _insert_jobs(job_database_url)
    start = time.monotonic()
    response = await client.get(f"{TAP}/async", params={"LAST": "10"})
    elapsed = time.monotonic() - start
    refs = list(ET.fromstring(response.content).iter(f"{UWS}jobref"))
    assert [r.get("id") for r in refs] == [
        f"a{i:015d}" for i in range(JOBS_PER_USER - 1, JOBS_PER_USER - 11, -1)
    ]
    assert elapsed < 0.5, f"LAST=10 of {JOBS_PER_USER} jobs took {elapsed:.3f}s"
    errors = await client.get(f"{TAP}/async", params={"PHASE": "ERROR", "LAST": "5"})
    phases = {
        r.findtext(f"{UWS}phase")
        for r in ET.fromstring(errors.content).iter(f"{UWS}jobref")
    }
    assert phases == {"ERROR"}
    everything = await client.get(f"{TAP}/async")
    assert everything.content.count(b"<uws:jobref ") == JOBS_PER_USER
