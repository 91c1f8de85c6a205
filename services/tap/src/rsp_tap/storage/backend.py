"""Running translated queries: the backend interface and its PostgreSQL form.

:class:`QueryBackend` is what the service needs of a database; a Qserv
backend can implement it later. :class:`PostgresBackend` runs queries on an
asyncpg pool connected as the read-only query role (``rsp-tap init-db``).

Each query runs in its own transaction:

- the connection's ``statement_timeout`` is the query's timeout and its
  ``application_name`` carries the job id, so :meth:`PostgresBackend.cancel`
  stops exactly it (session settings, changed only when they differ from
  the connection's: consecutive sync queries save the round trip, and the
  pool does not reset connections, which only transaction-local state
  touches otherwise);
- uploaded tables (``query.uploads``) are created as temporary tables that
  are dropped at commit, named ``pg_temp."tap_upload_<name>"`` where
  ``<name>`` is the upload's ``table.name`` exactly as given — the name the
  ADQL translator emits for ``TAP_UPLOAD.<name>`` — and filled by COPY
  (:mod:`.uploads`);
- the transaction then becomes ``READ ONLY`` (the role could not write to
  the catalogs anyway) and the query runs;
- at most ``maxrec + 1`` rows are fetched through a portal (or an outer
  ``LIMIT`` when the rows come by COPY, below), so PostgreSQL stops
  producing rows there: more than ``maxrec`` means ``overflow``, unless
  the query's own ``TOP`` asked for no more than ``maxrec`` rows.

A statement without parameters or uploads whose result columns all have
fixed-width types (booleans, integers, floats: most catalog queries) is
read column-wise instead: ``COPY (query) TO STDOUT (FORMAT binary)``, read
into one numpy array per column (:mod:`.copyout`), answered as
:class:`~rsp_tap.models.columns.ColumnarRows`; the BINARY2 and Parquet
writers encode those arrays without a Python object per value. The result
types come from the statement's description, kept per statement text: the
catalogs' column types must not change while the service runs (a reload
with other types needs a restart; a change of width is caught and read as
records, a swap between types of one width would not be).

Other statements without uploads go through asyncpg's per-connection statement
cache (prepared once per connection and reused). Errors come out as the
typed errors of :mod:`rsp_tap.storage.errors` with user-safe messages:
pgsphere's complaints about a geometry (SQLSTATE XX000, or a NOTICE when
its ``spoly`` aggregate gives NULL for a bad polygon) become a usage error
that names the problem; any other internal error is a service error.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from typing import Protocol

import asyncpg
import asyncpg.prepared_stmt
import numpy as np

from ..models.columns import ColumnarRows
from ..models.narrow import NO_NARROW_TABLES, NarrowTables
from ..models.query import QueryResult, TranslatedQuery
from ..models.schema import CatalogSchema
from .copyout import (
    FIXED_WIDTH_TYPES,
    CopyColumnsReader,
    CopyFormatError,
    copy_query,
)
from .errors import (
    BackendUnavailableError,
    QueryCancelledError,
    geometry_notice_error,
    query_error,
)
from .narrow import read_narrow_tables
from .uploads import create_upload_tables

__all__ = ["PostgresBackend", "QueryBackend"]

_APPLICATION = "rsp-tap"
_CONNECT_TIMEOUT = 5.0
"""Seconds start-up waits for the query pool before leaving it to the first query."""
_ROUNDED_TIMEOUT_MS = 10_000
_MAX_TRACKED_SESSIONS = 1000
_MAX_RESULT_TYPES = 1000
_CONNECTION_ERRORS = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)


class QueryBackend(Protocol):
    """What the TAP service needs of a database."""

    async def run(
        self,
        query: TranslatedQuery,
        *,
        maxrec: int | None,
        timeout: float,  # noqa: ASYNC109 (the database's statement timeout)
        job_id: str | None = None,
    ) -> QueryResult:
        """Run a query and return at most ``maxrec`` rows.

        Parameters
        ----------
        query
            The translated query (its uploads are created for it).
        maxrec
            Rows to return at most (None: all); ``overflow`` is set when
            there were more and the query's TOP did not ask for fewer.
        timeout
            Seconds the database may spend on it.
        job_id
            Name under which :meth:`cancel` can stop it.

        Raises
        ------
        QueryTimeoutError
            It ran longer than ``timeout``.
        QueryCancelledError
            :meth:`cancel` stopped it.
        QueryFailedError
            The database refused it (message safe to show).
        BackendUnavailableError
            The database cannot be reached.
        """
        ...

    async def cancel(self, job_id: str) -> bool:
        """Stop the running query of a job; False if none is running."""
        ...

    async def connect(self) -> None:
        """Open connections before the first query (at start-up); never fails:
        an unreachable database is reported by the queries themselves."""
        ...

    async def read_narrow_tables(self, schema: CatalogSchema) -> NarrowTables:
        """Find the narrow projections of the catalog tables (at start-up).

        Never fails: none if the database cannot tell. The result is kept
        as :attr:`narrow_tables`.
        """
        ...

    @property
    def narrow_tables(self) -> NarrowTables:
        """The projections found by :meth:`read_narrow_tables` (none before)."""
        ...

    async def aclose(self) -> None:
        """Release the backend's connections."""
        ...


def _timeout_ms(timeout: float) -> int:
    """A statement timeout in milliseconds; from 10 s up, in whole seconds.

    Rounded up so that a connection's setting fits the next sync query too
    (the query service's own deadline still stops it on time).
    """
    ms = max(math.ceil(timeout * 1000), 1)
    return -(-ms // 1000) * 1000 if ms >= _ROUNDED_TIMEOUT_MS else ms


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def _keep_session(connection: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool: nothing more.

    asyncpg has already rolled back an unfinished transaction. Queries
    leave only transaction-local state (uploads dropped at commit, cursors
    closed, ``SET TRANSACTION``) and the two session settings this backend
    tracks, so asyncpg's default reset (``RESET ALL``, ``CLOSE ALL``,
    ``UNLISTEN``, advisory locks) would be one round trip per query for
    nothing.
    """
    del connection


async def _fetch_rows(
    statement: asyncpg.prepared_stmt.PreparedStatement,
    fetch: int | None,
    params: Sequence[object],
) -> list[asyncpg.Record]:
    """All rows of a prepared statement, or the first ``fetch`` (a cursor)."""
    if fetch is None:
        rows: list[asyncpg.Record] = await statement.fetch(*params)
        return rows
    cursor = await statement.cursor(*params)
    fetched: list[asyncpg.Record] = await cursor.fetch(fetch)
    return fetched


class PostgresBackend:
    """Queries on PostgreSQL with pgsphere, as the read-only query role.

    Parameters
    ----------
    dsn
        ``postgresql://`` URL of the query role.
    pool_size
        Connections at most (queries running at once).
    """

    def __init__(self, dsn: str, *, pool_size: int = 8) -> None:
        scheme, sep, rest = dsn.partition("://")
        self._dsn = f"{scheme.split('+')[0]}{sep}{rest}"
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._running: dict[str, int] = {}
        self._cancelled: set[str] = set()
        self._sessions: dict[int, tuple[int, str]] = {}
        """Statement timeout and application name of each connection (by pid)."""
        self._result_types: dict[str, tuple[np.dtype[np.generic], ...] | None] = {}
        """Binary forms of the result columns of recent statements without
        parameters: None when some column is not of a fixed width."""
        self._narrow = NO_NARROW_TABLES

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    try:
                        self._pool = await asyncpg.create_pool(
                            self._dsn,
                            min_size=1,
                            max_size=self._pool_size,
                            server_settings={"application_name": _APPLICATION},
                            reset=_keep_session,
                        )
                    except (*_CONNECTION_ERRORS, asyncpg.PostgresError) as error:
                        raise BackendUnavailableError(
                            "The database is not available; try again later"
                        ) from error
        return self._pool

    async def connect(self) -> None:
        """Open the pool now, waiting a few seconds at most (see the protocol)."""
        with contextlib.suppress(BackendUnavailableError, TimeoutError):
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                await self._get_pool()

    async def read_narrow_tables(self, schema: CatalogSchema) -> NarrowTables:
        """Find the narrow projections; see :meth:`QueryBackend.read_narrow_tables`."""
        with contextlib.suppress(
            BackendUnavailableError,
            TimeoutError,
            asyncpg.PostgresError,
            *_CONNECTION_ERRORS,
        ):
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                pool = await self._get_pool()
                async with pool.acquire() as connection:
                    self._narrow = await read_narrow_tables(connection, schema)
        return self._narrow

    @property
    def narrow_tables(self) -> NarrowTables:
        """The projections found at start-up; see :meth:`QueryBackend.narrow_tables`."""
        return self._narrow

    async def run(
        self,
        query: TranslatedQuery,
        *,
        maxrec: int | None,
        timeout: float,  # noqa: ASYNC109 (the database's statement timeout)
        job_id: str | None = None,
    ) -> QueryResult:
        """Run a query; see :meth:`QueryBackend.run`."""
        limit = maxrec
        top_fits = (
            query.limit is not None and maxrec is not None and query.limit <= maxrec
        )
        fetch = None if maxrec is None or top_fits else maxrec + 1
        pool = await self._get_pool()
        try:
            async with pool.acquire() as connection:
                rows = await self._run(connection, query, fetch, timeout, job_id)
        except asyncpg.PostgresError as error:
            cancelled = job_id is not None and job_id in self._cancelled
            if cancelled and isinstance(error, asyncpg.QueryCanceledError):
                raise QueryCancelledError("The query was stopped on request") from None
            raise query_error(error, timeout=timeout) from None
        except _CONNECTION_ERRORS as error:
            raise BackendUnavailableError(
                "The database is not available; try again later"
            ) from error
        finally:
            if job_id is not None:
                self._cancelled.discard(job_id)
        overflow = limit is not None and not top_fits and len(rows) > limit
        if overflow:
            rows = rows[:limit]
        return QueryResult(columns=query.columns, rows=rows, overflow=overflow)

    async def _run(
        self,
        connection: asyncpg.Connection,
        query: TranslatedQuery,
        fetch: int | None,
        timeout: float,  # noqa: ASYNC109
        job_id: str | None,
    ) -> Sequence[Sequence[object]]:
        label = f"{_APPLICATION}:{job_id}" if job_id is not None else _APPLICATION
        await self._set_session(connection, _timeout_ms(timeout), label)
        async with connection.transaction(readonly=not query.uploads):
            if query.uploads:
                # The role's transactions start read-only by default.
                await connection.execute("SET TRANSACTION READ WRITE")
            if job_id is not None:
                self._running[job_id] = connection.get_server_pid()
            notices: list[str] = []

            def listen(_: object, message: asyncpg.PostgresLogMessage) -> None:
                notices.append(str(message))

            connection.add_log_listener(listen)
            try:
                if query.uploads:
                    await create_upload_tables(connection, query.uploads)
                    await connection.execute("SET TRANSACTION READ ONLY")
                    statement = await connection.prepare(query.sql)
                    rows: Sequence[Sequence[object]] = await _fetch_rows(
                        statement, fetch, query.params
                    )
                elif not query.params:
                    rows = await self._fetch_plain(connection, query.sql, fetch)
                elif fetch is None:
                    rows = await connection.fetch(query.sql, *query.params)
                else:
                    cursor = await connection.cursor(query.sql, *query.params)
                    rows = await cursor.fetch(fetch)
            finally:
                connection.remove_log_listener(listen)
                if job_id is not None:
                    self._running.pop(job_id, None)
            invalid = geometry_notice_error(notices)
            if invalid is not None:
                raise invalid
            return rows

    async def _fetch_plain(
        self, connection: asyncpg.Connection, sql: str, fetch: int | None
    ) -> Sequence[Sequence[object]]:
        """Rows of a statement without parameters, column-wise when it can be.

        When every result column has a fixed-width type, binary ``COPY``
        brings the rows and numpy reads them as columns
        (:class:`ColumnarRows`); otherwise rows come as records. The
        result types are known from the statement's description, kept per
        statement text.
        """
        statement: asyncpg.prepared_stmt.PreparedStatement | None = None
        if sql in self._result_types:
            types = self._result_types[sql]
        else:
            statement = await connection.prepare(sql)
            found = [
                FIXED_WIDTH_TYPES.get(a.type.oid) for a in statement.get_attributes()
            ]
            types = None
            if found and all(t is not None for t in found):
                types = tuple(t for t in found if t is not None)
            if len(self._result_types) >= _MAX_RESULT_TYPES:
                self._result_types.clear()
            self._result_types[sql] = types
        if types is not None:
            reader = CopyColumnsReader(types)
            failure: list[CopyFormatError] = []

            async def receive(chunk: bytes) -> None:
                # Rows are read as they arrive, while PostgreSQL sends the next.
                if not failure:
                    try:
                        reader.feed(chunk)
                    except CopyFormatError as error:
                        # Read to the end: an error here would cancel the COPY,
                        # and with it the transaction the records need below.
                        failure.append(error)

            await connection.copy_from_query(
                copy_query(sql, fetch), output=receive, format="binary"
            )
            try:
                if not failure:
                    return ColumnarRows(reader.finish())
            except CopyFormatError:
                pass
            # Not the types described (the schema changed): as records.
            self._result_types.pop(sql, None)
        if statement is None:
            statement = await connection.prepare(sql)
        return await _fetch_rows(statement, fetch, ())

    async def _set_session(
        self, connection: asyncpg.Connection, timeout_ms: int, label: str
    ) -> None:
        """Give the connection this statement timeout and application name.

        Session settings, set outside any transaction (so that no rollback
        undoes them) and only when they differ from what the connection
        already has: the sync queries that follow one another on a
        connection skip the round trip.
        """
        pid = connection.get_server_pid()
        wanted = (timeout_ms, label)
        if self._sessions.get(pid) == wanted:
            return
        if len(self._sessions) >= _MAX_TRACKED_SESSIONS:
            self._sessions.clear()  # connections come and go; forget old ones
        self._sessions.pop(pid, None)
        await connection.execute(
            f"SET statement_timeout = {timeout_ms};"
            f" SET application_name = {_literal(label)}"
        )
        self._sessions[pid] = wanted

    async def cancel(self, job_id: str) -> bool:
        """Stop the running query of a job; see :meth:`QueryBackend.cancel`."""
        pid = self._running.get(job_id)
        if pid is None:
            return False
        self._cancelled.add(job_id)
        # A connection of its own: the pool may be full of running queries.
        try:
            connection = await asyncpg.connect(self._dsn)
        except (*_CONNECTION_ERRORS, asyncpg.PostgresError):
            return False
        try:
            cancelled = await connection.fetchval(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
                " WHERE pid = $1 AND application_name = $2",
                pid,
                f"{_APPLICATION}:{job_id}",
            )
        except (*_CONNECTION_ERRORS, asyncpg.PostgresError):
            return False
        finally:
            await connection.close()
        return bool(cancelled)

    async def execute(
        self,
        query: TranslatedQuery,
        *,
        maxrec: int,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> QueryResult:
        """``run`` under the name the query service first called it by."""
        return await self.run(query, maxrec=maxrec, timeout=timeout or 3600.0)

    async def aclose(self) -> None:
        """Close the pool (waiting for running queries to finish)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
