"""Declarative base and the portable column types the tables share."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, MetaData, String, TypeDecorator
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase

__all__ = ["Base", "IPAddress", "JSONList", "UtcDateTime"]

_NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table; constraint names follow one convention for Alembic."""

    metadata = MetaData(naming_convention=_NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, always returned as an aware UTC datetime.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zones,
    so the value is stored as naive UTC there (with microseconds, which keeps
    string comparison in time order).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self, value: datetime | None, _dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class IPAddress(TypeDecorator[str]):
    """An IP address: ``inet`` on PostgreSQL (CIDR searches), text elsewhere."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.INET())
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: str | None, _dialect: Dialect) -> str | None:
        return value

    def process_result_value(self, value: Any, _dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
            return str(value.ip)
        return str(value)


class JSONList(TypeDecorator[list[Any]]):
    """A JSON array (scopes, groups), portable across both databases."""

    impl = JSON
    cache_ok = True
