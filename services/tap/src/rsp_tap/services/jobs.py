"""UWS 1.1 job logic of ``/async``: create, read, change, wait and delete jobs.

Every operation takes the owner: a user sees and changes only their own
jobs, and another user's job id answers exactly like an unknown one.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from structlog.stdlib import BoundLogger

from ..exceptions import (
    JobNotFoundError,
    PhaseConflictError,
    ResultNotFoundError,
    UsageError,
)
from ..models.job import ACTIVE_PHASES, ExecutionPhase, Job, JobFilter
from ..storage.jobstore import JobStore
from ..storage.results import ResultStore
from .query import MAX_QUERY_LENGTH, Parameters, QueryService
from .runner import JobRunner

__all__ = ["JobService", "parse_job_filter", "parse_timestamp"]

_ID_ALPHABET = string.ascii_lowercase + string.digits
_MAX_PARAMETERS = 64
_JOB_PARAMETERS_IGNORED = frozenset({"PHASE", "ACTION"})


def _now() -> datetime:
    return datetime.now(tz=UTC)


def parse_timestamp(value: str, name: str) -> datetime:
    """An ISO 8601 time (UTC when no zone is given).

    Raises
    ------
    UsageError
        If the value is not an ISO 8601 time.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{name}={value[:40]!r} is not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_job_filter(params: Parameters) -> JobFilter:
    """The UWS 1.1 job list filters: PHASE (repeatable), AFTER, LAST.

    Raises
    ------
    UsageError
        If a filter value is malformed.
    """
    phases = set()
    for value in params.all("PHASE"):
        try:
            phases.add(ExecutionPhase(value.strip().upper()))
        except ValueError:
            raise UsageError(f"PHASE={value[:40]!r} is not a UWS phase") from None
    after = None
    after_value = params.get("AFTER")
    if after_value is not None:
        after = parse_timestamp(after_value, "AFTER")
    last = None
    last_value = params.get("LAST")
    if last_value is not None:
        try:
            last = int(last_value)
        except ValueError:
            raise UsageError(f"LAST={last_value[:40]!r} is not an integer") from None
        if last <= 0:
            raise UsageError("LAST must be a positive integer")
    return JobFilter(phases=frozenset(phases), after=after, last=last)


class JobService:
    """The async endpoint's operations on one owner's jobs."""

    def __init__(
        self,
        *,
        store: JobStore,
        runner: JobRunner,
        queries: QueryService,
        results: ResultStore,
        execution_duration_default: timedelta,
        execution_duration_max: timedelta,
        destruction_default: timedelta,
        destruction_max: timedelta,
        wait_max: timedelta,
        logger: BoundLogger,
    ) -> None:
        self._store = store
        self._runner = runner
        self._queries = queries
        self._results = results
        self._duration_default = int(execution_duration_default.total_seconds())
        self._duration_max = int(execution_duration_max.total_seconds())
        self._destruction_default = destruction_default
        self._destruction_max = destruction_max
        self._wait_max = wait_max.total_seconds()
        self._logger = logger

    @property
    def execution_duration_max(self) -> int:
        """The most seconds a job may run."""
        return self._duration_max

    async def create(
        self, owner: str, params: Parameters, inline: Mapping[str, bytes]
    ) -> Job:
        """Create a job (and queue it if PHASE=RUN is among the parameters).

        As UWS expects, the parameters are checked when the job runs: a
        malformed one ends the job in ERROR with the reason.

        Raises
        ------
        UsageError
            If there are too many or too long parameters to keep.
        UploadTooLargeError
            If an uploaded part is over the size limit.
        """
        kept = self._kept_parameters(params)
        uploads = self._inline_uploads(inline)
        run_id = next((v for k, v in kept if k == "RUNID"), None)
        now = _now()
        job = Job(
            id="".join(secrets.choice(_ID_ALPHABET) for _ in range(16)),
            owner=owner,
            phase=ExecutionPhase.PENDING,
            parameters=kept,
            creation_time=now,
            execution_duration=self._duration_default,
            destruction_time=now + self._destruction_default,
            run_id=run_id[:64] if run_id else None,
        )
        await self._store.create(job, uploads)
        self._logger.info("Created job", job_id=job.id, owner=owner)
        phase = params.get("PHASE")
        if phase is not None:
            return await self.change_phase(owner, job.id, phase)
        return job

    def _kept_parameters(self, params: Parameters) -> tuple[tuple[str, str], ...]:
        kept = tuple(
            (k, v) for k, v in params.items if k not in _JOB_PARAMETERS_IGNORED
        )
        if len(kept) > _MAX_PARAMETERS:
            raise UsageError(f"At most {_MAX_PARAMETERS} parameters are accepted")
        for name, value in kept:
            if len(name) > 64 or len(value) > MAX_QUERY_LENGTH:
                raise UsageError(f"Parameter {name[:64]} is too long")
        return kept

    def _inline_uploads(self, inline: Mapping[str, bytes]) -> dict[str, bytes]:
        """The uploaded parts of the request, kept with the job until it runs."""
        for name, content in inline.items():
            self._queries.uploads.check_size(name, len(content))
        return dict(inline)

    async def get(
        self,
        owner: str,
        job_id: str,
        *,
        wait: float | None = None,
        wait_phase: ExecutionPhase | None = None,
    ) -> Job:
        """A job; with ``wait``, block until its phase changes (UWS WAIT).

        ``wait`` is in seconds (negative: as long as allowed); the wait ends
        at once if the job is not in an active phase or not in ``wait_phase``.
        """
        job = await self._store.get(owner, job_id)
        if wait is None or wait == 0:
            return job
        seconds = self._wait_max if wait < 0 else min(wait, self._wait_max)
        start_phase = job.phase
        if start_phase not in ACTIVE_PHASES:
            return job
        if wait_phase is not None and start_phase is not wait_phase:
            return job
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            event = self._runner.watch(job_id)
            job = await self._store.get(owner, job_id)
            if job.phase is not start_phase:
                return job
            remaining = deadline - loop.time()
            if remaining <= 0:
                return job
            try:
                # The event comes from this process; the poll covers others.
                async with asyncio.timeout(min(remaining, 1.0)):
                    await event.wait()
            except TimeoutError:
                pass

    async def list(self, owner: str, job_filter: JobFilter) -> list[Job]:
        """The owner's jobs, as the filter selects them."""
        return await self._store.list_jobs(owner, job_filter)

    async def change_phase(self, owner: str, job_id: str, phase: str) -> Job:
        """PHASE=RUN queues a PENDING job; PHASE=ABORT aborts an active one.

        Raises
        ------
        UsageError
            For any other value, or a job whose parameters cannot run.
        """
        action = phase.strip().upper()
        job = await self._store.get(owner, job_id)
        if action == "RUN":
            if job.phase is not ExecutionPhase.PENDING:
                return job  # already running or finished: nothing to do
            # The parameters are checked as the job runs (ERROR if bad).
            queued = await self._store.queue(owner, job_id)
            if queued is None:
                return await self._store.get(owner, job_id)
            self._runner.submit(job_id)
            self._runner.notify(job_id)
            return queued
        if action == "ABORT":
            if job.phase in ACTIVE_PHASES:
                aborted = await self._runner.abort(job_id)
                if aborted is not None:
                    return aborted
            return await self._store.get(owner, job_id)
        raise UsageError(f"PHASE={phase[:40]!r} is not supported; use RUN or ABORT")

    async def set_execution_duration(self, owner: str, job_id: str, value: str) -> Job:
        """Ask for a run time in seconds (0: the most allowed); PENDING jobs only.

        Raises
        ------
        UsageError
            If the value is not a non-negative integer.
        PhaseConflictError
            If the job has left PENDING.
        """
        try:
            seconds = int(value.strip())
        except ValueError:
            raise UsageError(
                f"EXECUTIONDURATION={value[:40]!r} is not a number of seconds"
            ) from None
        if seconds < 0:
            raise UsageError("EXECUTIONDURATION must not be negative")
        if seconds == 0 or seconds > self._duration_max:
            seconds = self._duration_max
        return await self._change_pending(
            owner, job_id, {"execution_duration": seconds}
        )

    async def set_destruction(self, owner: str, job_id: str, value: str) -> Job:
        """Ask for another destruction time (capped at the configured maximum)."""
        when = parse_timestamp(value, "DESTRUCTION")
        job = await self._store.get(owner, job_id)
        latest = job.creation_time + self._destruction_max
        when = min(when, latest)
        updated = await self._store.set_destruction(owner, job_id, when)
        if updated is None:
            raise JobNotFoundError(job_id)
        return updated

    async def set_parameters(self, owner: str, job_id: str, params: Parameters) -> Job:
        """Add or replace parameters of a PENDING job.

        Raises
        ------
        PhaseConflictError
            If the job has left PENDING.
        """
        self._queries.parse_request(params, require_query=False)
        job = await self._store.get(owner, job_id)
        replaced = {k for k, _ in params.items}
        merged = Parameters(
            [*((k, v) for k, v in job.parameters if k not in replaced), *params.items]
        )
        self._queries.parse_request(merged, require_query=False)
        kept = self._kept_parameters(merged)
        return await self._change_pending(
            owner, job_id, {"parameters": [list(p) for p in kept]}
        )

    async def _change_pending(
        self, owner: str, job_id: str, values: dict[str, object]
    ) -> Job:
        updated = await self._store.update_pending(owner, job_id, values)
        if updated is None:
            job = await self._store.get(owner, job_id)
            raise PhaseConflictError(
                f"Job {job_id} is {job.phase.value}: it can be changed only while"
                " PENDING"
            )
        return updated

    async def delete(self, owner: str, job_id: str) -> None:
        """Delete a job: stop it if it runs, delete its result (never fetched)."""
        job = await self._store.delete(owner, job_id)
        await self._runner.forget(job)
        self._logger.info("Deleted job", job_id=job_id, owner=owner)

    async def result_url(self, owner: str, job_id: str, result_id: str) -> str:
        """Where the client fetches a result (a redirect target).

        Raises
        ------
        ResultNotFoundError
            If the job has no such result.
        """
        job = await self._store.get(owner, job_id)
        if job.result is None or result_id != job.result.id:
            raise ResultNotFoundError(
                f"Job {job_id} has no result {result_id!r} (it is {job.phase.value})"
            )
        return await self._results.url(job.result.key)

    async def owned_result(self, owner: str, key: str) -> Job | None:
        """The owner's job whose stored result is ``key``, `None` if none is."""
        job_id = key.partition("/")[0]
        try:
            job = await self._store.get(owner, job_id)
        except JobNotFoundError:
            return None
        if job.result is None or job.result.key != key:
            return None
        return job
