"""The job store: UWS jobs in PostgreSQL.

Every change of phase is one conditional ``UPDATE ... WHERE phase IN (...)``,
so that two processes (the API and, later, a separate worker) can never move
a job along two paths at once: whoever loses the race sees ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..exceptions import JobNotFoundError
from ..models.job import (
    ACTIVE_PHASES,
    ExecutionPhase,
    Job,
    JobError,
    JobFilter,
    JobResult,
)
from ..schema import JobRow, JobUploadRow

__all__ = ["JobStore"]


def _to_job(row: JobRow) -> Job:
    error = None
    if row.error_message is not None:
        error = JobError(message=row.error_message, transient=row.error_transient)
    result = None
    if row.result_key is not None:
        result = JobResult(
            key=row.result_key,
            mime_type=row.result_mime_type or "application/octet-stream",
            size=row.result_size or 0,
            rows=row.result_rows or 0,
            overflow=row.result_overflow,
        )
    return Job(
        id=row.id,
        owner=row.owner,
        phase=ExecutionPhase(row.phase),
        parameters=tuple((str(k), str(v)) for k, v in row.parameters),
        creation_time=row.creation_time,
        execution_duration=row.execution_duration,
        destruction_time=row.destruction_time,
        run_id=row.run_id,
        start_time=row.start_time,
        end_time=row.end_time,
        quote=row.quote,
        error=error,
        result=result,
    )


class JobStore:
    """Reads and changes jobs; every user-facing read is scoped to an owner."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, job: Job, uploads: Mapping[str, bytes]) -> None:
        """Store a new job and the tables uploaded with it."""
        async with self._sessions.begin() as session:
            session.add(
                JobRow(
                    id=job.id,
                    owner=job.owner,
                    phase=job.phase.value,
                    run_id=job.run_id,
                    parameters=[list(p) for p in job.parameters],
                    creation_time=job.creation_time,
                    start_time=None,
                    end_time=None,
                    execution_duration=job.execution_duration,
                    destruction_time=job.destruction_time,
                    quote=job.quote,
                    error_message=None,
                    error_transient=False,
                    result_overflow=False,
                )
            )
            await session.flush()
            for name, content in uploads.items():
                session.add(JobUploadRow(job_id=job.id, name=name, content=content))

    async def get(self, owner: str, job_id: str) -> Job:
        """A job of ``owner``.

        Raises
        ------
        JobNotFoundError
            If there is no such job, or it is another user's.
        """
        async with self._sessions() as session:
            row = await session.scalar(
                select(JobRow).where(JobRow.id == job_id, JobRow.owner == owner)
            )
        if row is None:
            raise JobNotFoundError(job_id)
        return _to_job(row)

    async def find(self, job_id: str) -> Job | None:
        """A job whoever owns it (for the runner), `None` if gone."""
        async with self._sessions() as session:
            row = await session.get(JobRow, job_id)
        return _to_job(row) if row is not None else None

    async def list_jobs(self, owner: str, job_filter: JobFilter) -> list[Job]:
        """The owner's jobs, newest first, as the filter selects them."""
        query = select(JobRow).where(JobRow.owner == owner)
        if job_filter.phases:
            query = query.where(JobRow.phase.in_([p.value for p in job_filter.phases]))
        else:
            query = query.where(JobRow.phase != ExecutionPhase.ARCHIVED.value)
        if job_filter.after is not None:
            query = query.where(JobRow.creation_time > job_filter.after)
        query = query.order_by(JobRow.creation_time.desc(), JobRow.id.desc())
        if job_filter.last is not None:
            query = query.limit(job_filter.last)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [_to_job(r) for r in rows]

    async def count(self, owner: str) -> int:
        """How many jobs the owner has."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(func.count()).select_from(JobRow).where(JobRow.owner == owner)
            )
        return int(found or 0)

    async def uploads(self, job_id: str) -> dict[str, bytes]:
        """The tables uploaded inline with a job, by name."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(JobUploadRow).where(JobUploadRow.job_id == job_id)
                )
            ).all()
        return {r.name: r.content for r in rows}

    async def _update(
        self,
        job_id: str,
        values: dict[str, Any],
        *,
        owner: str | None = None,
        phases: Iterable[ExecutionPhase] | None = None,
    ) -> Job | None:
        statement = update(JobRow).where(JobRow.id == job_id)
        if owner is not None:
            statement = statement.where(JobRow.owner == owner)
        if phases is not None:
            statement = statement.where(JobRow.phase.in_([p.value for p in phases]))
        statement = statement.values(**values).returning(JobRow)
        async with self._sessions.begin() as session:
            row = await session.scalar(
                statement, execution_options={"synchronize_session": False}
            )
        return _to_job(row) if row is not None else None

    async def update_pending(
        self, owner: str, job_id: str, values: dict[str, Any]
    ) -> Job | None:
        """Change a PENDING job's fields; `None` if it is not (or not PENDING)."""
        return await self._update(
            job_id, values, owner=owner, phases=[ExecutionPhase.PENDING]
        )

    async def set_destruction(
        self, owner: str, job_id: str, when: datetime
    ) -> Job | None:
        """Move a job's destruction time (allowed in any phase)."""
        return await self._update(job_id, {"destruction_time": when}, owner=owner)

    async def queue(self, owner: str, job_id: str) -> Job | None:
        """PENDING -> QUEUED; `None` if the job was not PENDING."""
        return await self._update(
            job_id,
            {"phase": ExecutionPhase.QUEUED.value},
            owner=owner,
            phases=[ExecutionPhase.PENDING],
        )

    async def start(self, job_id: str, now: datetime) -> Job | None:
        """QUEUED -> EXECUTING; `None` if another runner took it or it was aborted."""
        return await self._update(
            job_id,
            {"phase": ExecutionPhase.EXECUTING.value, "start_time": now},
            phases=[ExecutionPhase.QUEUED],
        )

    async def complete(
        self, job_id: str, result: JobResult, now: datetime
    ) -> Job | None:
        """EXECUTING -> COMPLETED with its result."""
        return await self._update(
            job_id,
            {
                "phase": ExecutionPhase.COMPLETED.value,
                "end_time": now,
                "result_key": result.key,
                "result_mime_type": result.mime_type,
                "result_size": result.size,
                "result_rows": result.rows,
                "result_overflow": result.overflow,
            },
            phases=[ExecutionPhase.EXECUTING],
        )

    async def fail(self, job_id: str, error: JobError, now: datetime) -> Job | None:
        """An active job -> ERROR with its message."""
        return await self._update(
            job_id,
            {
                "phase": ExecutionPhase.ERROR.value,
                "end_time": now,
                "error_message": error.message,
                "error_transient": error.transient,
            },
            phases=ACTIVE_PHASES,
        )

    async def abort(self, job_id: str, now: datetime) -> Job | None:
        """An active job -> ABORTED; `None` if it had already finished."""
        return await self._update(
            job_id,
            {"phase": ExecutionPhase.ABORTED.value, "end_time": now},
            phases=ACTIVE_PHASES,
        )

    async def delete(self, owner: str, job_id: str) -> Job:
        """Delete a job of ``owner`` (and its uploads); the deleted job.

        Raises
        ------
        JobNotFoundError
            If there is no such job of this owner.
        """
        async with self._sessions.begin() as session:
            row = await session.scalar(
                delete(JobRow)
                .where(JobRow.id == job_id, JobRow.owner == owner)
                .returning(JobRow),
                execution_options={"synchronize_session": False},
            )
        if row is None:
            raise JobNotFoundError(job_id)
        return _to_job(row)

    async def recover(self, message: str, now: datetime) -> list[str]:
        """After a restart: EXECUTING jobs -> ERROR; the ids of QUEUED jobs."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(JobRow)
                .where(JobRow.phase == ExecutionPhase.EXECUTING.value)
                .values(
                    phase=ExecutionPhase.ERROR.value,
                    end_time=now,
                    error_message=message,
                    error_transient=True,
                ),
                execution_options={"synchronize_session": False},
            )
            queued = await session.scalars(
                select(JobRow.id)
                .where(JobRow.phase == ExecutionPhase.QUEUED.value)
                .order_by(JobRow.creation_time)
            )
            return list(queued.all())

    async def expired(self, now: datetime, limit: int = 500) -> list[Job]:
        """Jobs whose destruction time has passed, oldest first."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(JobRow)
                    .where(JobRow.destruction_time <= now)
                    .order_by(JobRow.destruction_time)
                    .limit(limit)
                )
            ).all()
        return [_to_job(r) for r in rows]

    async def delete_ids(self, job_ids: Sequence[str]) -> None:
        """Delete jobs by id (the cleanup loop, after their results are gone)."""
        if not job_ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                delete(JobRow).where(JobRow.id.in_(list(job_ids))),
                execution_options={"synchronize_session": False},
            )
