"""The UWS job tables.

Every query a user makes of the table filters on ``owner``; the indexes lead
with it so that job lists stay fast whatever the number of jobs. The runner
finds queued and executing jobs and the cleanup loop finds destroyed ones
through their own indexes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["JOB_SCHEMA", "Base", "JobRow", "JobUploadRow"]

JOB_SCHEMA = "tap_uws"
"""PostgreSQL schema of the job store (the catalogs live in their own)."""

_NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_TIME = DateTime(timezone=True)


class Base(DeclarativeBase):
    """Base of the job store's tables."""

    metadata = MetaData(schema=JOB_SCHEMA, naming_convention=_NAMING_CONVENTION)


class JobRow(Base):
    """One async job."""

    __tablename__ = "job"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str | None] = mapped_column(String(64))
    parameters: Mapped[list[list[str]]] = mapped_column(JSON)
    creation_time: Mapped[datetime] = mapped_column(_TIME)
    start_time: Mapped[datetime | None] = mapped_column(_TIME)
    end_time: Mapped[datetime | None] = mapped_column(_TIME)
    execution_duration: Mapped[int] = mapped_column(Integer)
    destruction_time: Mapped[datetime] = mapped_column(_TIME)
    quote: Mapped[datetime | None] = mapped_column(_TIME)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_transient: Mapped[bool] = mapped_column(Boolean, default=False)
    result_key: Mapped[str | None] = mapped_column(String(256))
    result_mime_type: Mapped[str | None] = mapped_column(String(128))
    result_size: Mapped[int | None] = mapped_column(BigInteger)
    result_rows: Mapped[int | None] = mapped_column(BigInteger)
    result_overflow: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_job_owner_creation_time", "owner", "creation_time"),
        Index("ix_job_owner_phase_creation_time", "owner", "phase", "creation_time"),
        Index("ix_job_phase", "phase"),
        Index("ix_job_destruction_time", "destruction_time"),
    )


class JobUploadRow(Base):
    """A table uploaded inline with a job, kept until the job runs."""

    __tablename__ = "job_upload"

    job_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("job.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
