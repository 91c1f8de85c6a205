"""UWS 1.1 jobs of the async endpoint, as the job store keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "ACTIVE_PHASES",
    "FINAL_PHASES",
    "ExecutionPhase",
    "Job",
    "JobError",
    "JobFilter",
    "JobResult",
]


class ExecutionPhase(StrEnum):
    """The phases of a UWS job."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"
    ABORTED = "ABORTED"
    UNKNOWN = "UNKNOWN"
    HELD = "HELD"
    SUSPENDED = "SUSPENDED"
    ARCHIVED = "ARCHIVED"


ACTIVE_PHASES = frozenset(
    {ExecutionPhase.PENDING, ExecutionPhase.QUEUED, ExecutionPhase.EXECUTING}
)
"""Phases a blocking WAIT waits in."""

FINAL_PHASES = frozenset(
    {
        ExecutionPhase.COMPLETED,
        ExecutionPhase.ERROR,
        ExecutionPhase.ABORTED,
        ExecutionPhase.ARCHIVED,
    }
)
"""Phases a job never leaves (except by destruction)."""


@dataclass(frozen=True, slots=True)
class JobResult:
    """The result of a completed TAP job (its one UWS result, ``result``)."""

    key: str
    """Name of the stored object in the result storage."""

    mime_type: str
    size: int
    rows: int
    overflow: bool = False
    id: str = "result"


@dataclass(frozen=True, slots=True)
class JobError:
    """Why a job ended in ERROR."""

    message: str
    transient: bool = False


@dataclass(frozen=True, slots=True)
class Job:
    """One async TAP job of one owner."""

    id: str
    owner: str
    phase: ExecutionPhase
    parameters: tuple[tuple[str, str], ...]
    """Parameter names (upper case) and values, in the order given."""

    creation_time: datetime
    execution_duration: int
    """Seconds the job may run; 0 is never stored (the maximum is used)."""

    destruction_time: datetime
    run_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    quote: datetime | None = None
    error: JobError | None = None
    result: JobResult | None = None

    def parameter(self, name: str) -> str | None:
        """The last value of a parameter, by case-insensitive name."""
        upper = name.upper()
        found = None
        for key, value in self.parameters:
            if key == upper:
                found = value
        return found


@dataclass(frozen=True, slots=True)
class JobFilter:
    """The filters of a job list (UWS 1.1 ``PHASE``, ``AFTER``, ``LAST``)."""

    phases: frozenset[ExecutionPhase] = field(default_factory=frozenset)
    """Only jobs in these phases; empty means every phase but ARCHIVED."""

    after: datetime | None = None
    """Only jobs created after this time."""

    last: int | None = None
    """Only this many most recently created jobs."""
