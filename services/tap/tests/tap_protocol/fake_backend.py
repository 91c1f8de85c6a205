"""A query backend for protocol tests: no database, rows made up on demand.

It answers any translated query with ``rows`` rows shaped after the query's
result columns, honours MAXREC (and flags overflow like the real backend,
by asking for one row more), and can be told to be slow or to fail, so the
protocol's timeouts, aborts and error paths can be tested quickly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from rsp_tap.models.narrow import NO_NARROW_TABLES, NarrowTables
from rsp_tap.models.query import QueryResult, TranslatedQuery
from rsp_tap.models.schema import CatalogColumn, CatalogSchema, VOTableDatatype

__all__ = ["FakeBackend"]


def _value(column: CatalogColumn, index: int) -> object:
    if column.arraysize is not None and column.datatype not in (
        VOTableDatatype.char,
        VOTableDatatype.unicodeChar,
    ):
        return [float(index), float(index) + 0.5]
    match column.datatype:
        case VOTableDatatype.char | VOTableDatatype.unicodeChar:
            return f"{column.name}-{index}"
        case VOTableDatatype.boolean:
            return index % 2 == 0
        case VOTableDatatype.float | VOTableDatatype.double:
            return index + 0.25
        case _:
            return index


@dataclass
class FakeBackend:
    """Answers every query with made-up rows; records what it was asked."""

    rows: int = 10
    delay: float = 0.0
    error: Exception | None = None
    queries: list[TranslatedQuery] = field(default_factory=list)
    cancelled: int = 0
    started: asyncio.Event | None = None
    was_cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    cancel_requests: list[str] = field(default_factory=list)
    job_ids: list[str | None] = field(default_factory=list)

    async def cancel(self, job_id: str) -> bool:
        """Record the request; the task's cancellation stops the fake query."""
        self.cancel_requests.append(job_id)
        return True

    async def aclose(self) -> None:
        """Nothing to release."""

    async def connect(self) -> None:
        """Nothing to open."""

    async def read_narrow_tables(self, schema: CatalogSchema) -> NarrowTables:
        """No projections."""
        return self.narrow_tables

    @property
    def narrow_tables(self) -> NarrowTables:
        """No projections."""
        return NO_NARROW_TABLES

    async def run(
        self,
        query: TranslatedQuery,
        *,
        maxrec: int | None,
        timeout: float,  # noqa: ASYNC109
        job_id: str | None = None,
    ) -> QueryResult:
        """Made-up rows for the query's columns (uploads answer their own rows)."""
        self.queries.append(query)
        self.job_ids.append(job_id)
        if maxrec is None:
            maxrec = self.rows
        if self.started is not None:
            self.started.set()
        try:
            if self.delay:
                async with asyncio.timeout(timeout):
                    await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            self.was_cancelled.set()
            raise
        if self.error is not None:
            raise self.error
        available = self.rows
        if query.limit is not None:
            available = min(available, query.limit)
        if query.uploads and "tap_upload" in query.sql.lower():
            # Answer the upload's own values for the columns selected by name.
            upload = query.uploads[0]
            names = [c.name.lower() for c in upload.table.columns]
            picks = [
                names.index(c.name.lower()) if c.name.lower() in names else None
                for c in query.columns
            ]
            data = [
                tuple(None if p is None else row[p] for p in picks)
                for row in upload.rows
            ]
            return QueryResult(
                columns=query.columns, rows=data[:maxrec], overflow=len(data) > maxrec
            )
        count = min(available, maxrec)
        rows = [tuple(_value(c, i) for c in query.columns) for i in range(count)]
        return QueryResult(
            columns=query.columns, rows=rows, overflow=available > maxrec
        )
