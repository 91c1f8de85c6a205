"""SQL for the ``token_change_history`` table."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, cast, delete, func, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from ..exceptions import InputError
from ..models.history import TokenChange
from ..schema import TokenChangeHistoryRecord, TokenRecord

__all__ = ["HistoryFilter", "HistoryPosition", "TokenChangeHistoryStore"]

_H = TokenChangeHistoryRecord


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which history entries to list; `None` fields do not filter."""

    username: str | None = None
    key: str | None = None
    token_type: str | None = None
    ip_address: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class HistoryPosition:
    """A position in the newest-first listing: an entry's time and id."""

    time: datetime
    id: int


class TokenChangeHistoryStore:
    """Records and lists token changes within the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, record: TokenChangeHistoryRecord) -> None:
        """Record a change (written with the transaction)."""
        self._session.add(record)

    def record(
        self,
        token: TokenRecord,
        action: str,
        *,
        actor: str,
        ip_address: str | None,
        event_time: datetime,
    ) -> TokenChangeHistoryRecord:
        """Record a change of ``token`` showing its current state; return the entry."""
        entry = TokenChangeHistoryRecord(
            token=token.key,
            username=token.username,
            token_type=token.token_type,
            token_name=token.token_name,
            parent=token.parent,
            scopes=list(token.scopes),
            service=token.service,
            expires=token.expires,
            actor=actor,
            action=action,
            ip_address=ip_address,
            event_time=event_time,
        )
        self._session.add(entry)
        return entry

    async def creators(self, keys: Iterable[str]) -> dict[str, str | None]:
        """Who created each of these tokens, for those whose creation is recorded.

        Tokens whose ``create`` entry was trimmed are absent from the answer.
        """
        wanted = list(keys)
        if not wanted:
            return {}
        stmt = select(_H.token, _H.actor).where(
            _H.token.in_(wanted), _H.action == TokenChange.create.value
        )
        rows = (await self._session.execute(stmt)).all()
        return {str(token): actor for token, actor in rows}

    async def count(self, where: HistoryFilter) -> int:
        """How many entries match the filter."""
        stmt = self._filtered(select(func.count()).select_from(_H), where)
        return int((await self._session.execute(stmt)).scalar_one())

    async def list_older(
        self, where: HistoryFilter, start: HistoryPosition | None, limit: int | None
    ) -> list[TokenChangeHistoryRecord]:
        """Entries at or after ``start`` in newest-first order."""
        stmt = self._filtered(select(_H), where)
        if start is not None:
            stmt = stmt.where(
                or_(
                    _H.event_time < start.time,
                    and_(_H.event_time == start.time, _H.id <= start.id),
                )
            )
        stmt = stmt.order_by(_H.event_time.desc(), _H.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        return list((await self._session.execute(stmt)).scalars())

    async def list_newer(
        self, where: HistoryFilter, end: HistoryPosition, limit: int
    ) -> list[TokenChangeHistoryRecord]:
        """Up to ``limit`` entries strictly newer than ``end``, oldest first."""
        stmt = self._filtered(select(_H), where).where(
            or_(
                _H.event_time > end.time,
                and_(_H.event_time == end.time, _H.id > end.id),
            )
        )
        stmt = stmt.order_by(_H.event_time.asc(), _H.id.asc()).limit(limit)
        return list((await self._session.execute(stmt)).scalars())

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Delete entries recorded before ``cutoff``; return how many."""
        result = await self._session.execute(delete(_H).where(_H.event_time < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)

    def _filtered[S: Select[Any]](self, stmt: S, where: HistoryFilter) -> S:
        if where.username is not None:
            stmt = stmt.where(_H.username == where.username)
        if where.key is not None:
            stmt = stmt.where(_H.token == where.key)
        if where.token_type is not None:
            stmt = stmt.where(_H.token_type == where.token_type)
        if where.since is not None:
            stmt = stmt.where(_H.event_time >= where.since)
        if where.until is not None:
            stmt = stmt.where(_H.event_time <= where.until)
        if where.ip_address is not None:
            stmt = stmt.where(self._ip_condition(where.ip_address))
        return stmt

    def _ip_condition(self, value: str) -> ColumnElement[bool]:
        dialect = self._session.get_bind().dialect.name
        if "/" not in value:
            try:
                address = str(ipaddress.ip_address(value))
            except ValueError:
                raise InputError(
                    f"not an IP address: {value}", location="query", field="ip_address"
                ) from None
            return _H.ip_address == address
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise InputError(
                f"not an IP network: {value}", location="query", field="ip_address"
            ) from None
        if dialect == "postgresql":
            return _H.ip_address.op("<<=")(cast(str(network), postgresql.CIDR()))
        # Without network types, octet-aligned IPv4 networks become a prefix match.
        if network.version == 4 and network.prefixlen % 8 == 0:
            if network.prefixlen == 0:
                return _H.ip_address.like("%.%.%.%")
            octets = str(network.network_address).split(".")[: network.prefixlen // 8]
            if network.prefixlen == 32:
                return _H.ip_address == ".".join(octets)
            return _H.ip_address.like(".".join(octets) + ".%")
        raise InputError(
            "this database can only search IPv4 networks of /8, /16, /24 or /32",
            location="query",
            field="ip_address",
        )
