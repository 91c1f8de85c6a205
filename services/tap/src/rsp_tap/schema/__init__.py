"""Tables of the job store (the service's own PostgreSQL schema ``tap_uws``)."""

from __future__ import annotations

from .jobs import JOB_SCHEMA, Base, JobRow, JobUploadRow

__all__ = ["JOB_SCHEMA", "Base", "JobRow", "JobUploadRow"]
