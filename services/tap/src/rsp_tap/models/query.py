"""What flows between the ADQL translator, the query backend and the writers.

The translator turns ADQL into a :class:`TranslatedQuery` (parametrised SQL
plus the metadata of every result column); a backend runs it and answers a
:class:`QueryResult`; the result writers (VOTable, CSV, TSV, Parquet) turn
that into bytes using the column metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .schema import CatalogColumn, CatalogTable

__all__ = ["QueryResult", "TranslatedQuery", "UploadTable"]


@dataclass(frozen=True, slots=True)
class UploadTable:
    """A table a user uploaded for one query (``TAP_UPLOAD.<name>``).

    The PostgreSQL backend creates it, for the query's transaction only, as
    ``pg_temp."tap_upload_<name>"`` with ``<name>`` exactly ``table.name``:
    the translator refers to it by that name (see storage/backend.py).
    """

    table: CatalogTable
    """Its description; ``schema_name`` is ``TAP_UPLOAD``."""

    rows: Sequence[tuple[object, ...]]
    """Its rows, in the order of ``table.columns``, already typed."""


@dataclass(frozen=True, slots=True)
class TranslatedQuery:
    """ADQL translated for the backend."""

    adql: str
    """The query as the user wrote it."""

    sql: str
    """SQL for the backend; user values only ever appear as ``$n`` parameters."""

    params: tuple[object, ...] = ()
    """Values of ``$1..$n``."""

    columns: tuple[CatalogColumn, ...] = ()
    """Metadata of each result column, in order (names as the result shows them)."""

    limit: int | None = None
    """Row limit the query itself asked for (``TOP``), if any."""

    uploads: tuple[UploadTable, ...] = field(default_factory=tuple)
    """Uploaded tables the SQL refers to (created by the backend per query)."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of a finished query and what the writers need to describe them."""

    columns: tuple[CatalogColumn, ...]
    rows: Sequence[Sequence[object]]
    overflow: bool = False
    """More rows existed than MAXREC allowed (never set when TOP asked for fewer)."""
