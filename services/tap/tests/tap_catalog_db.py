"""What the ``catalog_database`` fixture (conftest.py) hands to tests."""

from __future__ import annotations

from dataclasses import dataclass

from rsp_tap.data.load import LoadReport

__all__ = ["CatalogDatabase"]


@dataclass(frozen=True, slots=True)
class CatalogDatabase:
    """A loaded catalog database of the test session."""

    name: str
    owner_dsn: str
    """URL of the owner (superuser): set-up and checks."""

    reader_dsn: str
    """URL of the read-only query role."""

    reader_role: str
    scale: int
    seed: int
    report: LoadReport
