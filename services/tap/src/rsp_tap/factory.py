"""Process-wide resources and the factory that builds services from them.

:class:`ProcessContext` holds what lives as long as the process: the job
store's engine, the query backend, the result storage, the HTTP client for
uploads by URL, the query slots and the job runner. :class:`Factory` builds
the services a request needs from it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from structlog.stdlib import BoundLogger

from .adql import warm_up
from .config import Config, GcsResultStorage
from .models.schema import CatalogSchema
from .services.jobs import JobService
from .services.query import QueryService
from .services.runner import JobRunner
from .services.uploads import UploadLimits, UploadService
from .storage.backend import PostgresBackend, QueryBackend
from .storage.database import (
    check_job_store,
    create_database_engine,
    create_session_maker,
)
from .storage.jobstore import JobStore
from .storage.results import GcsResultStore, LocalResultStore, ResultStore
from .views.vosi import TapLimits

__all__ = ["Factory", "ProcessContext", "create_backend", "create_result_store"]


def create_result_store(config: Config) -> ResultStore:
    """The result storage the configuration names."""
    storage = config.result_storage
    if isinstance(storage, GcsResultStorage):
        from google.cloud import storage as gcs  # noqa: PLC0415 (slow import)

        return GcsResultStore(
            gcs.Client(),
            storage.bucket,
            prefix=storage.prefix,
            url_lifetime=storage.url_lifetime,
            service_account_email=storage.service_account_email,
        )
    return LocalResultStore(storage.path, f"{config.service_url}/results")


def create_backend(config: Config) -> QueryBackend:
    """The PostgreSQL query backend (read-only role) of the configuration."""
    return PostgresBackend(
        config.query_database_url.get_secret_value(), pool_size=config.query_pool_size
    )


def _logger() -> BoundLogger:
    logger: BoundLogger = structlog.get_logger("rsp_tap")
    return logger


@dataclass(slots=True)
class ProcessContext:
    """Resources that live as long as the process: made once at start-up."""

    config: Config
    schema: CatalogSchema
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http_client: httpx.AsyncClient
    backend: QueryBackend
    results: ResultStore
    slots: asyncio.Semaphore
    store: JobStore
    runner: JobRunner

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        schema: CatalogSchema | None = None,
        backend: QueryBackend | None = None,
        results: ResultStore | None = None,
    ) -> ProcessContext:
        """Make every process-wide resource (nothing connects yet).

        ``schema``, ``backend`` and ``results`` replace the configured ones
        (tests); by default the catalog schema comes from the Felis files.
        """
        if schema is None:
            from .data.felis import load_catalog_schema  # noqa: PLC0415

            schema = load_catalog_schema()
        engine = create_database_engine(
            config.database_url.get_secret_value(), pool_size=config.database_pool_size
        )
        sessions = create_session_maker(engine)
        http_client = httpx.AsyncClient(
            follow_redirects=False,
            limits=httpx.Limits(max_connections=20),
            headers={"User-Agent": "rsp-tap"},
        )
        store = JobStore(sessions)
        slots = asyncio.Semaphore(config.max_concurrent_queries)
        backend = backend if backend is not None else create_backend(config)
        results = results if results is not None else create_result_store(config)
        queries = _query_service(config, schema, backend, http_client, slots, _logger())
        runner = JobRunner(
            store=store,
            queries=queries,
            results=results,
            cleanup_interval=config.cleanup_interval,
            logger=_logger(),
        )
        return cls(
            config=config,
            schema=schema,
            engine=engine,
            sessions=sessions,
            http_client=http_client,
            backend=backend,
            results=results,
            slots=slots,
            store=store,
            runner=runner,
        )

    async def start(self) -> None:
        """Check the job store, prepare the query path, start the runner.

        The runner recovers jobs left behind by a restart; the ADQL grammar
        is compiled and the query connections opened before the first query,
        and the narrow projections the database offers are looked up (unless
        ``narrow_projections`` is off: then every query reads the tables).

        Raises
        ------
        DatabaseSchemaError
            If the job store is missing or at another revision.
        """
        await check_job_store(self.engine)
        # The first query should not pay for the grammar or the connections.
        await asyncio.gather(asyncio.to_thread(warm_up), self.backend.connect())
        if self.config.narrow_projections:
            narrow = await self.backend.read_narrow_tables(self.schema)
            _logger().info(
                "Narrow projections",
                tables=[
                    f"{t.schema_name}.{t.table_name} ({len(t.columns)} columns)"
                    for t in narrow.tables
                ],
            )
        await self.runner.start()

    async def job_store_alive(self) -> bool:
        """Whether the job store answers."""
        try:
            async with asyncio.timeout(2), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def aclose(self) -> None:
        """Stop the runner and release every resource."""
        await self.runner.stop()
        await self.backend.aclose()
        await self.http_client.aclose()
        await self.engine.dispose()


def _query_service(  # noqa: PLR0917 (one private builder)
    config: Config,
    schema: CatalogSchema,
    backend: QueryBackend,
    http_client: httpx.AsyncClient,
    slots: asyncio.Semaphore,
    logger: BoundLogger,
) -> QueryService:
    limits = UploadLimits(
        max_bytes=config.upload_max_bytes,
        max_rows=config.upload_max_rows,
        max_tables=config.upload_max_tables,
        url_timeout=config.upload_url_timeout,
        allow_private_networks=config.upload_url_allow_private_networks,
    )
    return QueryService(
        schema=schema,
        backend=backend,
        uploads=UploadService(limits, http_client),
        slots=slots,
        maxrec_default=config.maxrec_default,
        maxrec_limit=config.maxrec_limit,
        logger=logger,
    )


class Factory:
    """Builds the services a request needs."""

    def __init__(self, context: ProcessContext) -> None:
        self._context = context

    @property
    def context(self) -> ProcessContext:
        """The process-wide resources."""
        return self._context

    @property
    def config(self) -> Config:
        """The service's configuration."""
        return self._context.config

    @property
    def async_url(self) -> str:
        """Absolute URL of the async endpoint."""
        return f"{self.config.service_url}/async"

    def limits(self) -> TapLimits:
        """The limits the capabilities declare."""
        config = self.config
        return TapLimits(
            retention_default=int(config.destruction_default.total_seconds()),
            retention_hard=int(config.destruction_max.total_seconds()),
            execution_default=int(config.execution_duration_default.total_seconds()),
            execution_hard=int(config.execution_duration_max.total_seconds()),
            output_default=config.maxrec_default,
            output_hard=config.maxrec_limit,
            upload_hard_bytes=config.upload_max_bytes,
        )

    def create_query_service(self, logger: BoundLogger | None = None) -> QueryService:
        """The query service (sync queries, parameter checks)."""
        context = self._context
        return _query_service(
            context.config,
            context.schema,
            context.backend,
            context.http_client,
            context.slots,
            logger or _logger(),
        )

    def create_job_service(self, logger: BoundLogger | None = None) -> JobService:
        """The UWS job service of ``/async``."""
        context = self._context
        config = context.config
        return JobService(
            store=context.store,
            runner=context.runner,
            queries=self.create_query_service(logger),
            results=context.results,
            execution_duration_default=config.execution_duration_default,
            execution_duration_max=config.execution_duration_max,
            destruction_default=config.destruction_default,
            destruction_max=config.destruction_max,
            wait_max=config.wait_max,
            logger=logger or _logger(),
        )
