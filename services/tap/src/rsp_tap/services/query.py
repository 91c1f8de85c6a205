"""Running one TAP query: parameters, uploads, translation, backend, writer.

Sync requests and async jobs share this path, so both obey the same
parameter rules (DALI: case-insensitive names), the MAXREC limits, the
concurrency limit and the overflow rules.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from structlog.stdlib import BoundLogger

from ..adql import AdqlError, translate_cached
from ..exceptions import QueryTimeoutError, UsageError
from ..models.query import QueryResult, TranslatedQuery, UploadTable
from ..models.schema import CatalogSchema
from ..results import OutputFormat, find_format, write_result
from ..storage.backend import QueryBackend
from .uploads import UploadService, UploadSource, parse_upload_parameter

__all__ = [
    "MAX_QUERY_LENGTH",
    "Parameters",
    "QueryOutput",
    "QueryRequest",
    "QueryService",
]

MAX_QUERY_LENGTH = 100_000
"""Longest ADQL text accepted (characters)."""

_LANGS = frozenset({"adql", "adql-2.0", "adql-2.1"})
_SINGLE_VALUED = frozenset(
    {"LANG", "QUERY", "MAXREC", "RESPONSEFORMAT", "FORMAT", "REQUEST", "RUNID"}
)
_THREAD_ROWS = 2000
"""Results with more rows than this are written in a worker thread."""


class Parameters:
    """Request parameters with DALI's case-insensitive names (upper-cased)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.items: tuple[tuple[str, str], ...] = tuple(
            (k.upper(), v) for k, v in items
        )

    def all(self, name: str) -> list[str]:
        """Every value of a parameter, in order."""
        upper = name.upper()
        return [v for k, v in self.items if k == upper]

    def get(self, name: str) -> str | None:
        """The value of a single-valued parameter, `None` if absent.

        Raises
        ------
        UsageError
            If it was given more than once with different values.
        """
        values = self.all(name)
        if not values:
            return None
        if len(set(values)) > 1 and name.upper() in _SINGLE_VALUED:
            raise UsageError(f"{name.upper()} is given more than once")
        return values[-1]


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """A query as the parameters ask for it, checked."""

    query: str
    maxrec: int
    output: OutputFormat
    uploads: tuple[UploadSource, ...] = ()
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueryOutput:
    """A finished query written in its output format."""

    content: bytes
    mime_type: str
    rows: int
    overflow: bool


class QueryService:
    """Checks query parameters and runs queries within the service's limits."""

    def __init__(
        self,
        *,
        schema: CatalogSchema,
        backend: QueryBackend,
        uploads: UploadService,
        slots: asyncio.Semaphore,
        maxrec_default: int,
        maxrec_limit: int,
        logger: BoundLogger,
    ) -> None:
        self._schema = schema
        self._backend = backend
        self._uploads = uploads
        self._slots = slots
        self._maxrec_default = maxrec_default
        self._maxrec_limit = maxrec_limit
        self._logger = logger

    @property
    def backend(self) -> QueryBackend:
        """The query backend."""
        return self._backend

    @property
    def slots(self) -> asyncio.Semaphore:
        """The query slots (the limit of queries run at once)."""
        return self._slots

    @property
    def uploads(self) -> UploadService:
        """The upload service (limits, fetching, parsing)."""
        return self._uploads

    def parse_request(
        self, params: Parameters, *, require_query: bool = True
    ) -> QueryRequest:
        """Check the query parameters of a sync request or an async job.

        Raises
        ------
        UsageError
            With a message naming the parameter at fault.
        """
        request = params.get("REQUEST")
        if request is not None and request.lower() != "doquery":
            raise UsageError(f"REQUEST={request[:40]!r} is not supported; use doQuery")
        lang = params.get("LANG")
        if lang is None:
            if require_query:
                raise UsageError("LANG is required (LANG=ADQL)")
        elif lang.strip().lower() not in _LANGS:
            raise UsageError(f"LANG={lang[:40]!r} is not supported; use LANG=ADQL")
        query = params.get("QUERY")
        if query is None or not query.strip():
            if require_query:
                raise UsageError("QUERY is required")
            query = ""
        if len(query) > MAX_QUERY_LENGTH:
            raise UsageError(f"QUERY is longer than {MAX_QUERY_LENGTH} characters")
        output = find_format(params.get("RESPONSEFORMAT") or params.get("FORMAT"))
        uploads = parse_upload_parameter(
            params.all("UPLOAD"), self._uploads.limits.max_tables
        )
        run_id = params.get("RUNID")
        return QueryRequest(
            query=query,
            maxrec=self.parse_maxrec(params.get("MAXREC")),
            output=output,
            uploads=tuple(uploads),
            run_id=run_id[:64] if run_id else None,
        )

    def parse_maxrec(self, value: str | None) -> int:
        """MAXREC as a number of rows (the default if absent).

        Raises
        ------
        UsageError
            If it is not a non-negative integer or exceeds the hard limit.
        """
        if value is None or not value.strip():
            return self._maxrec_default
        try:
            maxrec = int(value.strip())
        except ValueError:
            raise UsageError(f"MAXREC={value[:40]!r} is not an integer") from None
        if maxrec < 0:
            raise UsageError("MAXREC must not be negative")
        if maxrec > self._maxrec_limit:
            raise UsageError(
                f"MAXREC={maxrec} exceeds this service's hard limit of"
                f" {self._maxrec_limit} rows"
            )
        return maxrec

    def translate(
        self, adql: str, uploads: Sequence[UploadTable] = ()
    ) -> TranslatedQuery:
        """The ADQL translated for the backend (``AdqlError`` for bad queries).

        Translations are cached by text and upload shape (a client repeating
        a query skips the parser). A table is read from its narrow projection
        when the backend has one that holds every column the query uses.
        """
        return translate_cached(
            adql, self._schema, uploads=uploads, narrow=self._backend.narrow_tables
        )

    async def run(
        self,
        request: QueryRequest,
        inline: Mapping[str, bytes],
        *,
        timeout: float,  # noqa: ASYNC109 (passed on as the statement timeout)
        slot_held: bool = False,
        job_id: str | None = None,
    ) -> QueryOutput:
        """Run a query and write its result, all within ``timeout`` seconds.

        Raises
        ------
        AdqlError
            If the query is not valid ADQL over these tables.
        QueryTimeoutError
            If it took longer than ``timeout``.
        UploadError
            If an uploaded table cannot be used.

        ``slot_held`` says the caller already holds a query slot (the job
        runner takes one before a job leaves QUEUED); ``job_id`` names the
        query in the backend so that an ABORT can cancel it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                tables = await self._uploads.load(request.uploads, inline)
                translated = self.translate(request.query, tables)
                async with contextlib.AsyncExitStack() as stack:
                    if not slot_held:
                        await stack.enter_async_context(self._slots)
                    remaining = max(deadline - loop.time(), 0.001)
                    result = await self._backend.run(
                        translated,
                        maxrec=request.maxrec,
                        timeout=remaining,
                        job_id=job_id,
                    )
        except TimeoutError:
            raise QueryTimeoutError(
                f"The query did not finish within {timeout:g} seconds"
            ) from None
        except AdqlError:
            raise
        overflow = result.overflow
        if translated.limit is not None and translated.limit <= request.maxrec:
            # TOP asked for no more than MAXREC: every row it asked for is here.
            overflow = False
        if len(result.rows) > request.maxrec:
            rows: Sequence[Sequence[object]] = result.rows[: request.maxrec]
            overflow = True
        else:
            rows = result.rows
        final = QueryResult(columns=result.columns, rows=rows, overflow=overflow)
        content = await self.write(final, request.output, request.query)
        return QueryOutput(
            content=content,
            mime_type=request.output.mime_type,
            rows=len(rows),
            overflow=overflow,
        )

    @staticmethod
    async def write(result: QueryResult, output: OutputFormat, query: str) -> bytes:
        """The result in its format; large results are written off the event loop."""
        if len(result.rows) > _THREAD_ROWS:
            return await asyncio.to_thread(write_result, result, output, query=query)
        return write_result(result, output, query=query)
