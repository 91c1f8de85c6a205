"""Running async jobs: asyncio tasks in the service process, within limits.

Everything the runner knows about a job is in the job store, and every
change of phase is a conditional update there, so the runner could move to a
separate worker process: it takes QUEUED jobs, notices an ABORT or a delete
made by any process (it watches the phase of the jobs it runs), and a
restart turns the jobs it was running into ERROR.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from structlog.stdlib import BoundLogger

from ..adql import AdqlError
from ..exceptions import QueryTimeoutError, TapError
from ..models.job import ExecutionPhase, Job, JobError, JobResult
from ..storage.jobstore import JobStore
from ..storage.results import ResultStore, result_key
from .query import Parameters, QueryService

__all__ = ["RESTART_MESSAGE", "JobRunner"]

RESTART_MESSAGE = (
    "The TAP service restarted while this job was executing; submit it again"
)

_WATCH_INTERVAL = 1.0
"""Seconds between checks that a running job was not aborted elsewhere."""


def _now() -> datetime:
    return datetime.now(tz=UTC)


class JobRunner:
    """Runs queued jobs as tasks and keeps the job store's phases right."""

    def __init__(
        self,
        *,
        store: JobStore,
        queries: QueryService,
        results: ResultStore,
        cleanup_interval: timedelta,
        logger: BoundLogger,
    ) -> None:
        self._store = store
        self._queries = queries
        self._results = results
        self._cleanup_interval = cleanup_interval.total_seconds()
        self._logger = logger
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._aborting: set[str] = set()
        self._events: dict[str, asyncio.Event] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._stopping = False

    # --- life cycle -------------------------------------------------------

    async def start(self) -> None:
        """Recover from a restart and start the cleanup loop."""
        queued = await self._store.recover(RESTART_MESSAGE, _now())
        for job_id in queued:
            self.submit(job_id)
        self._spawn(self._cleanup_loop())

    async def stop(self) -> None:
        """Stop every task; running jobs end in ERROR (they may be resubmitted)."""
        self._stopping = True
        tasks = [*self._tasks.values(), *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- notifications ----------------------------------------------------

    def watch(self, job_id: str) -> asyncio.Event:
        """An event set at the job's next change of phase (made here)."""
        event = self._events.get(job_id)
        if event is None:
            event = self._events[job_id] = asyncio.Event()
        return event

    def notify(self, job_id: str) -> None:
        """Wake whoever waits on the job."""
        event = self._events.pop(job_id, None)
        if event is not None:
            event.set()

    # --- jobs ---------------------------------------------------------------

    def submit(self, job_id: str) -> None:
        """Run a QUEUED job as soon as a query slot is free."""
        if job_id in self._tasks or self._stopping:
            return
        task = asyncio.create_task(self._run(job_id), name=f"tap-job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def abort(self, job_id: str) -> Job | None:
        """Abort an active job (cancelling its SQL if it runs); `None` if not active."""
        job = await self._store.abort(job_id, _now())
        task = self._tasks.get(job_id)
        if task is not None:
            self._aborting.add(job_id)
            await self._cancel_query(job_id)
            task.cancel()
        self.notify(job_id)
        return job

    async def forget(self, job: Job) -> None:
        """After a delete: stop the job if it runs and delete its result."""
        task = self._tasks.get(job.id)
        if task is not None:
            self._aborting.add(job.id)
            await self._cancel_query(job.id)
            task.cancel()
        if job.result is not None:
            await self._results.delete(job.result.key)
        self.notify(job.id)

    async def _cancel_query(self, job_id: str) -> None:
        """Stop the job's SQL in the database (the task is cancelled as well)."""
        try:
            await self._queries.backend.cancel(job_id)
        except Exception:
            self._logger.exception("Cancelling the query failed", job_id=job_id)

    async def _run(self, job_id: str) -> None:
        log = self._logger.bind(job_id=job_id)
        try:
            async with self._queries.slots:
                job = await self._store.start(job_id, _now())
                if job is None:
                    return  # aborted or deleted while queued
                self.notify(job_id)
                await self._execute(job, log)
        except asyncio.CancelledError:
            if job_id in self._aborting:
                self._aborting.discard(job_id)
                await self._store.abort(job_id, _now())
                log.info("Job aborted")
            else:
                await self._fail(job_id, JobError(RESTART_MESSAGE, transient=True))
                log.warning("Job stopped with the service")
            self.notify(job_id)
            raise
        finally:
            self._aborting.discard(job_id)

    async def _execute(self, job: Job, log: BoundLogger) -> None:
        params = Parameters(job.parameters)
        watcher = asyncio.create_task(self._watch_phase(job.id, asyncio.current_task()))
        try:
            request = self._queries.parse_request(params)
            inline = await self._store.uploads(job.id)
            output = await self._queries.run(
                request,
                inline,
                timeout=float(job.execution_duration),
                slot_held=True,
                job_id=job.id,
            )
            key = result_key(job.id, request.output.extension)
            await self._results.store(key, output.content, output.mime_type)
            result = JobResult(
                key=key,
                mime_type=output.mime_type,
                size=len(output.content),
                rows=output.rows,
                overflow=output.overflow,
            )
            if await self._store.complete(job.id, result, _now()) is None:
                await self._results.delete(key)  # aborted or deleted meanwhile
            else:
                log.info("Job completed", rows=output.rows, overflow=output.overflow)
        except QueryTimeoutError:
            await self._fail(
                job.id,
                JobError(
                    f"The query ran longer than the job's execution duration of"
                    f" {job.execution_duration} seconds"
                ),
            )
        except (AdqlError, TapError) as e:
            transient = isinstance(e, TapError) and e.transient
            if isinstance(e, TapError) and e.status_code >= 500:
                detail = getattr(e, "detail", e.message)
                # The database's message says it all: no traceback.
                log.error("Job failed", error=type(e).__name__, detail=detail)  # noqa: TRY400
            await self._fail(job.id, JobError(str(e), transient=transient))
        except Exception:
            log.exception("Job failed unexpectedly")
            await self._fail(
                job.id, JobError("Internal error while running the query", True)
            )
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        self.notify(job.id)

    async def _fail(self, job_id: str, error: JobError) -> None:
        with contextlib.suppress(Exception):
            await asyncio.shield(self._store.fail(job_id, error, _now()))

    async def _watch_phase(
        self, job_id: str, runner: asyncio.Task[object] | None
    ) -> None:
        """Cancel the job's task if another process aborted or deleted the job."""
        while runner is not None:
            await asyncio.sleep(_WATCH_INTERVAL)
            job = await self._store.find(job_id)
            if job is None or job.phase is ExecutionPhase.ABORTED:
                self._aborting.add(job_id)
                await self._cancel_query(job_id)
                runner.cancel()
                return

    # --- destruction --------------------------------------------------------

    async def cleanup(self) -> int:
        """Destroy the jobs whose destruction time has passed; how many."""
        destroyed = 0
        while True:
            jobs = await self._store.expired(_now())
            if not jobs:
                return destroyed
            for job in jobs:
                await self.forget(job)
            await self._store.delete_ids([j.id for j in jobs])
            destroyed += len(jobs)

    async def _cleanup_loop(self) -> None:
        while True:
            try:
                destroyed = await self.cleanup()
                if destroyed:
                    self._logger.info("Destroyed expired jobs", count=destroyed)
            except Exception:
                self._logger.exception("Cleanup of expired jobs failed")
            await asyncio.sleep(self._cleanup_interval)
