"""Uploaded tables as temporary tables of the query's transaction.

An upload (``TAP_UPLOAD.<name>``) becomes ``pg_temp."tap_upload_<name>"``,
created in the transaction that runs the query and dropped at its commit,
so uploads never outlive their query or meet another user's.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ..data.pgcopy import postgres_type
from ..exceptions import UploadError
from ..models.query import UploadTable
from ..models.schema import CatalogColumn, VOTableDatatype

__all__ = ["UPLOAD_TABLE_PREFIX", "create_upload_tables", "upload_table_name"]

UPLOAD_TABLE_PREFIX = "tap_upload_"
"""Temporary tables of uploads are ``pg_temp."tap_upload_<name>"``."""


def upload_table_name(upload: UploadTable) -> str:
    """Name (in ``pg_temp``) of an upload's temporary table, unquoted."""
    return UPLOAD_TABLE_PREFIX + upload.table.name


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _upload_type(column: CatalogColumn) -> str:
    if column.xtype == "timestamp":
        return "timestamp"  # the translator formats it with to_char()
    if column.datatype in (VOTableDatatype.char, VOTableDatatype.unicodeChar):
        return "text"
    if column.arraysize is not None:
        scalar = CatalogColumn(name=column.name, datatype=column.datatype)
        return postgres_type(scalar) + "[]"
    return postgres_type(column)


async def create_upload_tables(
    connection: asyncpg.Connection, uploads: Sequence[UploadTable]
) -> None:
    """Create each upload's temporary table (dropped at commit) and copy its rows in.

    Raises
    ------
    UploadError
        If a value does not fit its column's type.
    """
    for upload in uploads:
        name = upload_table_name(upload)
        columns = ", ".join(
            f"{_quote(c.name)} {_upload_type(c)}" for c in upload.table.columns
        )
        await connection.execute(
            f"CREATE TEMPORARY TABLE {_quote(name)} ({columns}) ON COMMIT DROP"
        )
        if not upload.rows:
            continue
        try:
            await connection.copy_records_to_table(
                name,
                schema_name="pg_temp",
                columns=[c.name for c in upload.table.columns],
                records=[tuple(r) for r in upload.rows],
            )
        except (TypeError, ValueError, OverflowError) as error:
            raise UploadError(
                f"The uploaded table {upload.table.name} has a value that does not"
                f" fit its column's type ({error})"
            ) from None
