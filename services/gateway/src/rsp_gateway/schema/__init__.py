"""Database schema of the gateway: the declarative tables.

The tables use only portable column types (with PostgreSQL variants where
they help) so that the same schema runs on PostgreSQL + asyncpg in
production and SQLite + aiosqlite for ``make dev``.
"""

from __future__ import annotations

from .base import Base
from .credential import GitHubCredentialRecord
from .history import TokenChangeHistoryRecord
from .token import TokenRecord

__all__ = [
    "Base",
    "GitHubCredentialRecord",
    "TokenChangeHistoryRecord",
    "TokenRecord",
]
