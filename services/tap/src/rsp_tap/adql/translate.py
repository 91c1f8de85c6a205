"""Public entry point: ADQL text in, parametrised PostgreSQL out."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from ..models.narrow import NO_NARROW_TABLES, NarrowTables
from ..models.query import TranslatedQuery, UploadTable
from ..models.schema import CatalogSchema
from .errors import AdqlUnsupportedError
from .parser import parse
from .queries import Translator
from .scope import Catalog

__all__ = ["translate", "translate_cached"]

_PLACEHOLDER = re.compile("\x00([0-9]+)\x00")


def translate(
    adql: str,
    schema: CatalogSchema,
    *,
    uploads: Sequence[UploadTable] = (),
    narrow: NarrowTables = NO_NARROW_TABLES,
) -> TranslatedQuery:
    """Translate one ADQL query for the PostgreSQL/pgsphere backend.

    Parameters
    ----------
    adql
        The query as the user sent it.
    schema
        The tables it may use (only ``dp01_dc2_catalogs``, ``TAP_SCHEMA`` and
        the uploads resolve).
    uploads
        Tables uploaded for this query, reachable as ``TAP_UPLOAD.<name>``
        (SQL ``pg_temp."tap_upload_<name>"``).
    narrow
        The narrow projections the database offers: a table instance of
        which the query uses only columns its projection holds is read from
        the projection (same rows, same result metadata).

    Raises
    ------
    AdqlError
        ``AdqlSyntaxError``, ``AdqlReferenceError`` or ``AdqlUnsupportedError``
        with a message for the user; nothing else escapes for any input text.
    """
    try:
        query = parse(adql)
        translator = Translator(Catalog(schema, uploads, narrow))
        output = translator.query(query, None)
    except RecursionError:
        raise AdqlUnsupportedError("The query is nested too deeply") from None
    sql, params = _number_parameters(
        translator.routing.route(output.sql), translator.params
    )
    return TranslatedQuery(
        adql=adql,
        sql=sql,
        params=params,
        columns=tuple(o.column for o in output.outputs),
        limit=output.limit,
        uploads=tuple(uploads),
    )


def _number_parameters(
    sql: str, values: list[object]
) -> tuple[str, tuple[object, ...]]:
    """Number the parameters the SQL uses as ``$1..$n``, in order of appearance."""
    if not values:
        return sql, ()
    numbers: dict[int, int] = {}
    used: list[object] = []

    def number(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index not in numbers:
            used.append(values[index])
            numbers[index] = len(used)
        return f"${numbers[index]}"

    return _PLACEHOLDER.sub(number, sql), tuple(used)


def _upload_signature(uploads: Sequence[UploadTable]) -> tuple[object, ...]:
    return tuple(
        (
            u.table.name,
            tuple((c.name, c.datatype, c.arraysize, c.xtype) for c in u.table.columns),
        )
        for u in uploads
    )


class _TranslationCache:
    """Least-recently-used translations, keyed on text, schema and upload shape."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[
            tuple[str, int, tuple[object, ...], NarrowTables],
            tuple[CatalogSchema, TranslatedQuery],
        ] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        key: tuple[str, int, tuple[object, ...], NarrowTables],
        schema: CatalogSchema,
    ) -> TranslatedQuery | None:
        """The cached translation, if it was made for this very schema."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] is not schema:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(
        self,
        key: tuple[str, int, tuple[object, ...], NarrowTables],
        schema: CatalogSchema,
        result: TranslatedQuery,
    ) -> None:
        """Remember a translation, forgetting the least recently used."""
        with self._lock:
            self._entries[key] = (schema, result)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_CACHE = _TranslationCache(1024)


def translate_cached(
    adql: str,
    schema: CatalogSchema,
    *,
    uploads: Sequence[UploadTable] = (),
    narrow: NarrowTables = NO_NARROW_TABLES,
) -> TranslatedQuery:
    """:func:`translate` with an LRU cache keyed on the text, the uploads' shape
    and the narrow projections.

    Errors are not cached. The result carries this call's upload rows.
    """
    key = (adql, id(schema), _upload_signature(uploads), narrow)
    result = _CACHE.get(key, schema)
    if result is None:
        result = translate(adql, schema, uploads=uploads, narrow=narrow)
        _CACHE.put(key, schema, result)
    elif uploads:
        result = replace(result, uploads=tuple(uploads))
    return result
