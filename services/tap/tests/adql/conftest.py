"""Fixtures of the ADQL translator tests: the real catalog schema and an upload."""

from __future__ import annotations

import pytest
from rsp_tap.data.felis import load_catalog_schema
from rsp_tap.models.query import UploadTable
from rsp_tap.models.schema import (
    CatalogColumn,
    CatalogSchema,
    CatalogTable,
    VOTableDatatype,
)


@pytest.fixture(scope="session")
def schema() -> CatalogSchema:
    """The DP0.1 catalogs and TAP_SCHEMA as the service loads them."""
    return load_catalog_schema()


@pytest.fixture(scope="session")
def upload() -> UploadTable:
    """A user's table of positions, ``TAP_UPLOAD.mine``."""
    table = CatalogTable(
        schema_name="TAP_UPLOAD",
        name="mine",
        columns=(
            CatalogColumn("id", VOTableDatatype.int),
            CatalogColumn("ra", VOTableDatatype.double, unit="deg"),
            CatalogColumn("dec", VOTableDatatype.double, unit="deg"),
            CatalogColumn("label", VOTableDatatype.char, arraysize="*"),
        ),
    )
    return UploadTable(table=table, rows=[(1, 61.9, -35.8, "a"), (2, 62.0, -35.7, "b")])
