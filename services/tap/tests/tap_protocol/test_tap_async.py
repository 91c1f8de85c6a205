"""``/async``: UWS 1.1 job life cycle, resources, WAIT, ownership."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from httpx import AsyncClient

from .conftest import TAP
from .fake_backend import FakeBackend
from .uws import UWS, XLINK_HREF, XSI_NIL, create_job, job_xml, wait_for_phase
from .votables import error_message, query_status, read_votable

QUERY = "SELECT objectId, ra, dec FROM dp01_dc2_catalogs.object"


async def test_create_job_is_pending(client: AsyncClient) -> None:
    job_id = await create_job(client, QUERY=QUERY, RUNID="my-run")
    job = await job_xml(client, job_id)
    assert job.tag == f"{UWS}job"
    assert job.get("version") == "1.1"
    assert job.findtext(f"{UWS}jobId") == job_id
    assert job.findtext(f"{UWS}runId") == "my-run"
    assert job.findtext(f"{UWS}ownerId") == "alice"
    assert job.findtext(f"{UWS}phase") == "PENDING"
    assert job.findtext(f"{UWS}executionDuration") == "600"
    start = job.find(f"{UWS}startTime")
    assert start is not None
    assert start.get(XSI_NIL) == "true"
    parameters = {p.get("id"): p.text for p in job.iter(f"{UWS}parameter")}
    assert parameters["query"] == QUERY
    assert parameters["lang"] == "ADQL"
    created = datetime.fromisoformat(job.findtext(f"{UWS}creationTime") or "")
    destruction = datetime.fromisoformat(job.findtext(f"{UWS}destruction") or "")
    assert destruction - created == timedelta(days=7)


async def test_run_wait_and_fetch_result(client: AsyncClient) -> None:
    job_id = await create_job(client, QUERY=QUERY, PHASE="RUN", MAXREC="4")
    job = await wait_for_phase(client, job_id, "COMPLETED", "ERROR")
    assert job.findtext(f"{UWS}phase") == "COMPLETED"
    assert job.find(f"{UWS}startTime").get(XSI_NIL) is None  # type: ignore[union-attr]
    result = job.find(f"{UWS}results/{UWS}result")
    assert result is not None
    assert result.get("id") == "result"
    href = result.get(XLINK_HREF)
    assert href == f"{TAP}/async/{job_id}/results/result"
    assert result.get("mime-type") == "application/x-votable+xml"
    redirect = await client.get(href)
    assert redirect.status_code == 303
    location = redirect.headers["location"]
    assert location == f"{TAP}/results/{job_id}/result.xml"
    data = await client.get(location)
    assert data.status_code == 200
    table = read_votable(data.content).get_first_table()
    assert len(table.array) == 4
    assert query_status(data.content) == [("OK", ""), ("OVERFLOW", "")]
    results = await client.get(f"{TAP}/async/{job_id}/results")
    assert results.status_code == 200
    assert b"result" in results.content


async def test_result_file_is_the_owners_only(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    job_id = await create_job(client, QUERY=QUERY, PHASE="RUN")
    await wait_for_phase(client, job_id, "COMPLETED")
    url = f"{TAP}/results/{job_id}/result.xml"
    assert (await client.get(url)).status_code == 200
    assert (await other_client.get(url)).status_code == 404
    assert (await client.get(f"{TAP}/results/{job_id}/../x")).status_code == 404


async def test_job_list_filters(client: AsyncClient, other_client: AsyncClient) -> None:
    first = await create_job(client, QUERY=QUERY)
    await asyncio.sleep(0.01)
    middle = datetime.now(tz=UTC)
    await asyncio.sleep(0.01)
    second = await create_job(client, QUERY=QUERY, PHASE="RUN")
    await wait_for_phase(client, second, "COMPLETED")
    theirs = await create_job(other_client, QUERY=QUERY)

    async def listed(**params: str) -> list[str]:
        response = await client.get(f"{TAP}/async", params=params)
        assert response.status_code == 200
        root = response.content
        import xml.etree.ElementTree as ET  # noqa: PLC0415

        return [r.get("id") or "" for r in ET.fromstring(root).iter(f"{UWS}jobref")]

    assert await listed() == [second, first]
    assert theirs not in await listed()
    assert await listed(PHASE="PENDING") == [first]
    assert await listed(PHASE="COMPLETED") == [second]
    assert set(await listed(phase="PENDING", PHASE="COMPLETED")) == {first, second}
    assert await listed(LAST="1") == [second]
    assert await listed(AFTER=middle.isoformat()) == [second]
    bad = await client.get(f"{TAP}/async", params={"PHASE": "DONE"})
    assert bad.status_code == 400
    bad = await client.get(f"{TAP}/async", params={"AFTER": "yesterday"})
    assert bad.status_code == 400
    bad = await client.get(f"{TAP}/async", params={"LAST": "0"})
    assert bad.status_code == 400


async def test_another_users_job_is_not_found(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    job_id = await create_job(client, QUERY=QUERY)
    for resource in (
        "",
        "/phase",
        "/executionduration",
        "/destruction",
        "/quote",
        "/error",
        "/results",
        "/results/result",
        "/parameters",
        "/owner",
    ):
        response = await other_client.get(f"{TAP}/async/{job_id}{resource}")
        assert response.status_code == 404, resource
        unknown = await other_client.get(f"{TAP}/async/nosuchjob{resource}")
        assert unknown.status_code == 404
        assert error_message(response.content).replace(job_id, "x") == error_message(
            unknown.content
        ).replace("nosuchjob", "x")
    assert (await other_client.delete(f"{TAP}/async/{job_id}")).status_code == 404
    response = await other_client.post(
        f"{TAP}/async/{job_id}/phase", data={"PHASE": "RUN"}
    )
    assert response.status_code == 404
    response = await other_client.post(
        f"{TAP}/async/{job_id}", data={"ACTION": "DELETE"}
    )
    assert response.status_code == 404
    job = await job_xml(client, job_id)
    assert job.findtext(f"{UWS}phase") == "PENDING"
    odd = await client.get(f"{TAP}/async/{'x' * 100}")
    assert odd.status_code == 404


async def test_simple_resources(client: AsyncClient) -> None:
    job_id = await create_job(client, QUERY=QUERY)
    base = f"{TAP}/async/{job_id}"
    assert (await client.get(f"{base}/phase")).text == "PENDING"
    assert (await client.get(f"{base}/owner")).text == "alice"
    assert (await client.get(f"{base}/quote")).text == ""
    assert (await client.get(f"{base}/executionduration")).text == "600"
    destruction = (await client.get(f"{base}/destruction")).text
    assert destruction.endswith("Z")
    assert (await client.get(f"{base}/error")).status_code == 404
    assert (await client.get(f"{base}/results/result")).status_code == 404
    parameters = await client.get(f"{base}/parameters")
    assert parameters.status_code == 200
    assert QUERY.encode() in parameters.content


async def test_change_pending_job(client: AsyncClient) -> None:
    job_id = await create_job(client, QUERY=QUERY)
    base = f"{TAP}/async/{job_id}"
    response = await client.post(
        f"{base}/executionduration", data={"EXECUTIONDURATION": "30"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == base
    assert (await client.get(f"{base}/executionduration")).text == "30"
    await client.post(f"{base}/executionduration", data={"executionDuration": "0"})
    assert (await client.get(f"{base}/executionduration")).text == "7200"
    bad = await client.post(
        f"{base}/executionduration", data={"EXECUTIONDURATION": "soon"}
    )
    assert bad.status_code == 400
    when = (datetime.now(tz=UTC) + timedelta(days=1)).replace(microsecond=0)
    response = await client.post(
        f"{base}/destruction", data={"DESTRUCTION": when.isoformat()}
    )
    assert response.status_code == 303
    text = (await client.get(f"{base}/destruction")).text
    assert datetime.fromisoformat(text) == when
    far = datetime.now(tz=UTC) + timedelta(days=400)
    await client.post(f"{base}/destruction", data={"DESTRUCTION": far.isoformat()})
    capped = datetime.fromisoformat((await client.get(f"{base}/destruction")).text)
    assert capped < datetime.now(tz=UTC) + timedelta(days=31)
    response = await client.post(f"{base}/parameters", data={"MAXREC": "3"})
    assert response.status_code == 303
    job = await job_xml(client, job_id)
    parameters = {p.get("id"): p.text for p in job.iter(f"{UWS}parameter")}
    assert parameters["maxrec"] == "3"
    assert parameters["query"] == QUERY
    await client.post(f"{base}/phase", data={"PHASE": "RUN"})
    job = await wait_for_phase(client, job_id, "COMPLETED")
    after = await client.post(
        f"{base}/executionduration", data={"EXECUTIONDURATION": "5"}
    )
    assert after.status_code == 409
    after = await client.post(f"{base}/parameters", data={"MAXREC": "5"})
    assert after.status_code == 409
    result = job.find(f"{UWS}results/{UWS}result")
    assert result is not None
    fetched = await client.get(result.get(XLINK_HREF) or "", follow_redirects=True)
    assert len(read_votable(fetched.content).get_first_table().array) == 3


async def test_bad_query_ends_in_error(client: AsyncClient) -> None:
    job_id = await create_job(client, QUERY="SELECT nothing FROM nowhere", PHASE="RUN")
    job = await wait_for_phase(client, job_id, "ERROR", "COMPLETED")
    assert job.findtext(f"{UWS}phase") == "ERROR"
    summary = job.find(f"{UWS}errorSummary")
    assert summary is not None
    assert summary.get("type") == "fatal"
    assert summary.get("hasDetail") == "true"
    message = summary.findtext(f"{UWS}message") or ""
    assert "nowhere" in message
    error = await client.get(f"{TAP}/async/{job_id}/error")
    assert error.status_code == 200
    assert "nowhere" in error_message(error.content)


async def test_bad_parameters_end_the_job_in_error(client: AsyncClient) -> None:
    # UWS: the job is created and tells what is wrong when it runs.
    over = await create_job(client, QUERY=QUERY, MAXREC="10000000000", PHASE="RUN")
    job = await wait_for_phase(client, over, "ERROR", "COMPLETED")
    assert job.findtext(f"{UWS}phase") == "ERROR"
    assert "hard limit" in (job.findtext(f"{UWS}errorSummary/{UWS}message") or "")
    language = await create_job(client, QUERY=QUERY, LANG="PQL", PHASE="RUN")
    job = await wait_for_phase(client, language, "ERROR", "COMPLETED")
    assert "LANG='PQL'" in (job.findtext(f"{UWS}errorSummary/{UWS}message") or "")
    job_id = await create_job(client)
    response = await client.post(f"{TAP}/async/{job_id}/phase", data={"PHASE": "RUN"})
    assert response.status_code == 303
    job = await wait_for_phase(client, job_id, "ERROR", "COMPLETED")
    assert "QUERY is required" in (
        job.findtext(f"{UWS}errorSummary/{UWS}message") or ""
    )
    job_id = await create_job(client, QUERY=QUERY)
    response = await client.post(f"{TAP}/async/{job_id}/phase", data={"PHASE": "HOLD"})
    assert response.status_code == 400
    response = await client.post(f"{TAP}/async/{job_id}", data={"ACTION": "RUN"})
    assert response.status_code == 400
    response = await client.post(
        f"{TAP}/async/{job_id}/parameters", data={"MAXREC": "x"}
    )
    assert response.status_code == 400


async def test_abort_cancels_the_running_query(
    client: AsyncClient, backend: FakeBackend
) -> None:
    backend.delay = 30
    backend.started = asyncio.Event()
    job_id = await create_job(client, QUERY=QUERY, PHASE="RUN")
    async with asyncio.timeout(5):
        await backend.started.wait()
    job = await job_xml(client, job_id)
    assert job.findtext(f"{UWS}phase") == "EXECUTING"
    response = await client.post(f"{TAP}/async/{job_id}/phase", data={"PHASE": "ABORT"})
    assert response.status_code == 303
    job = await job_xml(client, job_id)
    assert job.findtext(f"{UWS}phase") == "ABORTED"
    async with asyncio.timeout(5):
        await backend.was_cancelled.wait()
    assert backend.cancelled == 1
    assert backend.cancel_requests == [job_id]
    assert backend.job_ids == [job_id]
    assert job.find(f"{UWS}results/{UWS}result") is None


async def test_abort_pending_job(client: AsyncClient) -> None:
    job_id = await create_job(client, QUERY=QUERY)
    await client.post(f"{TAP}/async/{job_id}/phase", data={"PHASE": "ABORT"})
    assert (await client.get(f"{TAP}/async/{job_id}/phase")).text == "ABORTED"
    await client.post(f"{TAP}/async/{job_id}/phase", data={"PHASE": "RUN"})
    assert (await client.get(f"{TAP}/async/{job_id}/phase")).text == "ABORTED"


async def test_execution_duration_is_enforced(
    client: AsyncClient, backend: FakeBackend
) -> None:
    backend.delay = 30
    job_id = await create_job(client, QUERY=QUERY)
    await client.post(
        f"{TAP}/async/{job_id}/executionduration", data={"EXECUTIONDURATION": "1"}
    )
    await client.post(f"{TAP}/async/{job_id}/phase", data={"PHASE": "RUN"})
    job = await wait_for_phase(client, job_id, "ERROR", "COMPLETED", within=10)
    assert job.findtext(f"{UWS}phase") == "ERROR"
    message = job.findtext(f"{UWS}errorSummary/{UWS}message") or ""
    assert "execution duration of 1 seconds" in message
    assert backend.cancelled == 1


async def test_wait_blocks_until_the_phase_changes(
    client: AsyncClient, backend: FakeBackend
) -> None:
    backend.delay = 0.5
    job_id = await create_job(client, QUERY=QUERY, PHASE="RUN")
    start = time.monotonic()
    job = await job_xml(client, job_id, WAIT=10, PHASE="EXECUTING")
    while job.findtext(f"{UWS}phase") != "COMPLETED":
        job = await job_xml(client, job_id, WAIT=10)
    assert time.monotonic() - start < 5
    start = time.monotonic()
    job = await job_xml(client, job_id, WAIT=10)
    assert job.findtext(f"{UWS}phase") == "COMPLETED"
    assert time.monotonic() - start < 0.5
    pending = await create_job(client, QUERY=QUERY)
    start = time.monotonic()
    job = await job_xml(client, pending, WAIT=1)
    assert job.findtext(f"{UWS}phase") == "PENDING"
    assert 0.9 < time.monotonic() - start < 3
    start = time.monotonic()
    await job_xml(client, pending, WAIT=5, PHASE="EXECUTING")
    assert time.monotonic() - start < 0.5
    bad = await client.get(f"{TAP}/async/{pending}", params={"WAIT": "soon"})
    assert bad.status_code == 400


async def test_delete_removes_job_and_result(app: FastAPI, client: AsyncClient) -> None:
    job_id = await create_job(client, QUERY=QUERY, PHASE="RUN")
    await wait_for_phase(client, job_id, "COMPLETED")
    store = app.state.process_context.results
    path = store.path(f"{job_id}/result.xml")
    assert path.exists()
    response = await client.delete(f"{TAP}/async/{job_id}")
    assert response.status_code == 303
    assert response.headers["location"] == f"{TAP}/async"
    assert (await client.get(f"{TAP}/async/{job_id}")).status_code == 404
    assert not path.exists()
    other = await create_job(client, QUERY=QUERY)
    response = await client.post(f"{TAP}/async/{other}", data={"action": "delete"})
    assert response.status_code == 303
    assert (await client.get(f"{TAP}/async/{other}")).status_code == 404


async def test_delete_stops_a_running_job(
    client: AsyncClient, backend: FakeBackend
) -> None:
    backend.delay = 30
    backend.started = asyncio.Event()
    job_id = await create_job(client, QUERY=QUERY, PHASE="RUN")
    async with asyncio.timeout(5):
        await backend.started.wait()
    assert (await client.delete(f"{TAP}/async/{job_id}")).status_code == 303
    async with asyncio.timeout(5):
        await backend.was_cancelled.wait()


async def test_destroyed_jobs_are_cleaned_up(app: FastAPI, client: AsyncClient) -> None:
    job_id = await create_job(client, QUERY=QUERY, PHASE="RUN")
    await wait_for_phase(client, job_id, "COMPLETED")
    kept = await create_job(client, QUERY=QUERY)
    past = datetime.now(tz=UTC) - timedelta(minutes=1)
    await client.post(
        f"{TAP}/async/{job_id}/destruction", data={"DESTRUCTION": past.isoformat()}
    )
    runner = app.state.process_context.runner
    path = app.state.process_context.results.path(f"{job_id}/result.xml")
    assert await runner.cleanup() == 1
    assert (await client.get(f"{TAP}/async/{job_id}")).status_code == 404
    assert not path.exists()
    assert (await client.get(f"{TAP}/async/{kept}")).status_code == 200
