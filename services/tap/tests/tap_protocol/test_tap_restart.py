"""Jobs and results survive a restart; jobs left executing end in ERROR."""

from __future__ import annotations

import asyncio

import asyncpg
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from rsp_tap.config import Config
from rsp_tap.main import create_app
from rsp_tap.models.schema import CatalogSchema
from rsp_tap.services.runner import RESTART_MESSAGE

from .conftest import BASE_URL, TAP, empty_job_store
from .fake_backend import FakeBackend
from .uws import UWS, XLINK_HREF, create_job, job_xml, wait_for_phase
from .votables import read_votable

QUERY = "SELECT objectId FROM dp01_dc2_catalogs.object"


def _client(app: object) -> AsyncClient:
    return AsyncClient(
        transport=ASGITransport(app=app),  # type: ignore[arg-type]
        base_url=BASE_URL,
        headers={"X-Auth-Request-User": "alice"},
    )


async def _set_phase(url: str, job_id: str, phase: str) -> None:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.execute(
            "UPDATE tap_uws.job SET phase = $1 WHERE id = $2", phase, job_id
        )
    finally:
        await connection.close()


async def test_restart_keeps_results_and_fails_executing_jobs(
    config: Config, catalog_schema: CatalogSchema, job_database_url: str
) -> None:
    try:
        first = create_app(config, schema=catalog_schema, backend=FakeBackend())
        async with LifespanManager(first), _client(first) as client:
            done = await create_job(client, QUERY=QUERY, PHASE="RUN")
            await wait_for_phase(client, done, "COMPLETED")
            running = await create_job(client, QUERY=QUERY)
            queued = await create_job(client, QUERY=QUERY)
        # As if the process had died with one job executing and one queued.
        await _set_phase(job_database_url, running, "EXECUTING")
        await _set_phase(job_database_url, queued, "QUEUED")

        second = create_app(config, schema=catalog_schema, backend=FakeBackend())
        async with LifespanManager(second), _client(second) as client:
            job = await job_xml(client, done)
            assert job.findtext(f"{UWS}phase") == "COMPLETED"
            href = job.find(f"{UWS}results/{UWS}result").get(XLINK_HREF)  # type: ignore[union-attr]
            result = await client.get(href or "", follow_redirects=True)
            assert len(read_votable(result.content).get_first_table().array) == 10

            job = await job_xml(client, running)
            assert job.findtext(f"{UWS}phase") == "ERROR"
            assert job.findtext(f"{UWS}errorSummary/{UWS}message") == RESTART_MESSAGE
            assert job.findtext(f"{UWS}endTime")

            job = await wait_for_phase(client, queued, "COMPLETED", "ERROR")
            assert job.findtext(f"{UWS}phase") == "COMPLETED"
            response = await client.get(f"{TAP}/async")
            assert done.encode() in response.content
    finally:
        await empty_job_store(job_database_url)


async def test_stopping_the_service_ends_running_jobs_in_error(
    config: Config, catalog_schema: CatalogSchema, job_database_url: str
) -> None:
    backend = FakeBackend(delay=30, started=asyncio.Event())
    try:
        app = create_app(config, schema=catalog_schema, backend=backend)
        async with LifespanManager(app), _client(app) as client:
            job_id = await create_job(client, QUERY=QUERY, PHASE="RUN")
            async with asyncio.timeout(5):
                await backend.started.wait()  # type: ignore[union-attr]
        assert backend.cancelled == 1
        again = create_app(config, schema=catalog_schema, backend=FakeBackend())
        async with LifespanManager(again), _client(again) as client:
            job = await job_xml(client, job_id)
            assert job.findtext(f"{UWS}phase") == "ERROR"
            assert job.findtext(f"{UWS}errorSummary/{UWS}message") == RESTART_MESSAGE
    finally:
        await empty_job_store(job_database_url)
