"""pgsphere's internal errors: bad geometry is the user's 400, the rest a 500.

pgsphere reports an invalid polygon or circle with SQLSTATE XX000 (internal
error), or, in its ``spoly`` aggregate, with a NOTICE and a NULL polygon.
Both must reach the user as a DALI error naming the problem; an internal
error not known to come from the query stays a service error (500) that
shows no database text and no stack trace. Everything runs on the real
PostgreSQL with pgsphere (the session's test catalog).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from rsp_tap.adql import translate
from rsp_tap.config import Config
from rsp_tap.main import create_app
from rsp_tap.models.query import QueryResult, TranslatedQuery
from rsp_tap.models.schema import CatalogSchema
from rsp_tap.storage.backend import PostgresBackend
from rsp_tap.storage.errors import DatabaseInternalError, QueryFailedError
from tap_catalog_db import CatalogDatabase

from .conftest import BASE_URL, TAP, empty_job_store
from .uws import UWS, create_job, wait_for_phase
from .votables import error_message

CONE = "1 = CONTAINS(POINT('ICRS', ra, dec), {})"
SELECT = "SELECT TOP 5 objectId FROM dp01_dc2_catalogs.object WHERE "

INVALID = [
    (
        SELECT + CONE.format("POLYGON('ICRS', 60, -30, 61, -30, 60, -30)"),
        "Invalid POLYGON: it needs at least three distinct vertices",
    ),
    (
        # A bow tie: the edges cross.
        SELECT + CONE.format("POLYGON('ICRS', 60, -30, 61, -31, 61, -30, 60, -31)"),
        "Invalid POLYGON: its edges cross each other",
    ),
    (
        # Around the equator: more than a hemisphere.
        SELECT + CONE.format("POLYGON('ICRS', 0, 0, 120, 0, 240, 0, 300, 10)"),
        "or it covers more than a hemisphere",
    ),
    (
        SELECT + CONE.format("POLYGON('ICRS', 0, 0, 180, 0, 90, 45)"),
        "two consecutive vertices are 180 degrees apart",
    ),
    (
        "SELECT TOP 1 AREA(POLYGON('ICRS', 60, -30, 61, -31, 61, -30, 60, -31))"
        " FROM dp01_dc2_catalogs.object",
        "Invalid POLYGON: its edges cross each other",
    ),
    (
        SELECT + "1 = INTERSECTS(CIRCLE('ICRS', ra, dec, 1),"
        " POLYGON('ICRS', 60, -30, 61, -31, 61, -30, 60, -31))",
        "Invalid POLYGON: its edges cross each other",
    ),
    (
        # A radius from a column: negative declinations are negative radii.
        SELECT + CONE.format("CIRCLE('ICRS', ra, dec, dec)"),
        "Invalid CIRCLE: the radius must be between 0 and 90 degrees",
    ),
    (
        # POLYGON of points: pgsphere's aggregate says why in a NOTICE and
        # gives NULL, which would silently match nothing.
        SELECT
        + CONE.format(
            "POLYGON(POINT('ICRS', 60, -30), POINT('ICRS', 60, -30),"
            " POINT('ICRS', 61, -30))"
        ),
        "Invalid POLYGON: it needs at least three distinct vertices",
    ),
    (
        SELECT
        + CONE.format(
            "POLYGON(POINT('ICRS', 60, -30), POINT('ICRS', 61, -31),"
            " POINT('ICRS', 61, -30), POINT('ICRS', 60, -31))"
        ),
        "Invalid POLYGON: its edges cross each other",
    ),
]
"""ADQL with a geometry pgsphere refuses, and what the user is told."""

VALID = [
    SELECT + CONE.format("POLYGON('ICRS', 61, -36, 62, -36, 62, -35, 61, -35)"),
    SELECT
    + CONE.format(
        "POLYGON(POINT('ICRS', 61, -36), POINT('ICRS', 62, -36),"
        " POINT('ICRS', 62, -35), POINT('ICRS', 61, -35))"
    ),
]


@pytest.fixture
async def pg_backend(
    catalog_database: CatalogDatabase,
) -> AsyncIterator[PostgresBackend]:
    """The PostgreSQL backend on the test catalog, as the read-only role."""
    backend = PostgresBackend(catalog_database.reader_dsn, pool_size=2)
    yield backend
    await backend.aclose()


@pytest.mark.parametrize(("adql", "message"), INVALID)
async def test_invalid_geometry_is_a_usage_error(
    pg_backend: PostgresBackend, catalog_schema: CatalogSchema, adql: str, message: str
) -> None:
    query = translate(adql, catalog_schema)
    with pytest.raises(QueryFailedError) as raised:
        await pg_backend.run(query, maxrec=10, timeout=10)
    assert raised.value.status_code == 400
    assert message in raised.value.message
    for leak in ("spherepoly", "spoly", "XX000", "SQLSTATE"):
        assert leak not in raised.value.message


@pytest.mark.parametrize("adql", VALID)
async def test_valid_polygons_still_run(
    pg_backend: PostgresBackend, catalog_schema: CatalogSchema, adql: str
) -> None:
    query = translate(adql, catalog_schema)
    result = await pg_backend.run(query, maxrec=10, timeout=10)
    assert len(result.rows) == 5


_FUNCTION = "rsp_test_internal_error"


@pytest.fixture(scope="module")
def internal_error_function(catalog_database: CatalogDatabase) -> Iterator[str]:
    """A function of the catalog database that fails with an unknown XX000."""
    name = f"{_FUNCTION}_{uuid.uuid4().hex[:8]}"

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(catalog_database.owner_dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(
        run(
            f"CREATE FUNCTION public.{name}() RETURNS bigint LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'Bug found in spoly_contains_point'"
            " USING ERRCODE = 'XX000'; END $$"
        )
    )
    yield f"SELECT public.{name}()"
    asyncio.run(run(f"DROP FUNCTION public.{name}()"))


async def test_unknown_internal_error_is_a_service_error(
    pg_backend: PostgresBackend,
    catalog_schema: CatalogSchema,
    internal_error_function: str,
) -> None:
    query = translate("SELECT TOP 1 objectId FROM object", catalog_schema)
    with pytest.raises(DatabaseInternalError) as raised:
        await pg_backend.run(
            replace(query, sql=internal_error_function), maxrec=10, timeout=10
        )
    error = raised.value
    assert error.status_code == 500
    assert "internal error" in error.message
    assert "spoly_contains_point" not in error.message
    assert "spoly_contains_point" in error.detail


class _InternalErrorBackend(PostgresBackend):
    """The real backend, but every query runs a statement that fails inside."""

    def __init__(self, dsn: str, statement: str) -> None:
        super().__init__(dsn, pool_size=2)
        self.statement = statement

    async def run(
        self,
        query: TranslatedQuery,
        *,
        maxrec: int | None,
        timeout: float,  # noqa: ASYNC109
        job_id: str | None = None,
    ) -> QueryResult:
        changed = replace(query, sql=self.statement, params=())
        return await super().run(changed, maxrec=maxrec, timeout=timeout, job_id=job_id)


async def _app_client(
    config: Config, schema: CatalogSchema, backend: PostgresBackend
) -> AsyncIterator[AsyncClient]:
    """A client of the app; the jobs it made are deleted after."""
    app = create_app(config, schema=schema, backend=backend)
    async with (
        LifespanManager(app),
        AsyncClient(
            transport=ASGITransport(app=app),
            base_url=BASE_URL,
            headers={"X-Auth-Request-User": "alice"},
        ) as client,
    ):
        yield client
    await backend.aclose()
    await empty_job_store(config.database_url.get_secret_value())


@pytest.fixture
async def real_client(
    make_config: Callable[..., Config],
    catalog_schema: CatalogSchema,
    catalog_database: CatalogDatabase,
) -> AsyncIterator[AsyncClient]:
    """The app on the real catalog database."""
    backend = PostgresBackend(catalog_database.reader_dsn, pool_size=2)
    async for client in _app_client(make_config(), catalog_schema, backend):
        yield client


@pytest.fixture
async def failing_client(
    make_config: Callable[..., Config],
    catalog_schema: CatalogSchema,
    catalog_database: CatalogDatabase,
    internal_error_function: str,
) -> AsyncIterator[AsyncClient]:
    """The app on a database whose every query fails with an unknown XX000."""
    backend = _InternalErrorBackend(
        catalog_database.reader_dsn, internal_error_function
    )
    async for client in _app_client(make_config(), catalog_schema, backend):
        yield client


async def test_invalid_polygon_answers_a_dali_400(real_client: AsyncClient) -> None:
    adql, message = INVALID[1]
    response = await real_client.post(
        f"{TAP}/sync", data={"LANG": "ADQL", "QUERY": adql}
    )
    assert response.status_code == 400
    assert message in error_message(response.content)
    job_id = await create_job(real_client, QUERY=adql, PHASE="RUN")
    job = await wait_for_phase(real_client, job_id, "ERROR", "COMPLETED")
    assert job.findtext(f"{UWS}phase") == "ERROR"
    assert message in (job.findtext(f"{UWS}errorSummary/{UWS}message") or "")


async def test_unknown_internal_error_answers_a_dali_500(
    failing_client: AsyncClient,
) -> None:
    query = {"LANG": "ADQL", "QUERY": "SELECT TOP 1 objectId FROM object"}
    response = await failing_client.post(f"{TAP}/sync", data=query)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/x-votable+xml"
    message = error_message(response.content)
    assert "internal error" in message
    for leak in (b"spoly_contains_point", b"Traceback", b"rsp_test_internal"):
        assert leak not in response.content
