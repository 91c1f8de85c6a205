"""Listing token change history with stable cursors.

A cursor names one entry by its time (Unix microseconds) and id:
``<microseconds>_<id>`` starts a page at that entry (going to older
entries), ``p<microseconds>_<id>`` is the page of entries just newer than
it. Entries are listed newest first, so cursors stay valid while new
changes are recorded.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..config import Config
from ..exceptions import InputError
from ..models.history import HistoryCursor, TokenChange, TokenChangeHistoryEntry
from ..models.token import Token, TokenData, TokenType
from ..schema import TokenChangeHistoryRecord
from ..storage.history import HistoryFilter, HistoryPosition, TokenChangeHistoryStore
from .token_rules import TokenRules

__all__ = [
    "MAX_HISTORY_LIMIT",
    "TokenHistoryLister",
    "TokenHistoryService",
    "format_cursor",
    "parse_cursor",
]

MAX_HISTORY_LIMIT = 1000
"""Largest page a caller may ask for."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ID = 2**63 - 1
"""Ids are 64-bit integers in the database; a larger one is no cursor of ours."""
_CURSOR_RE = re.compile(r"^(p?)(\d{1,20})_(\d{1,20})$")


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_cursor(value: str) -> HistoryCursor:
    """Read a cursor string.

    Raises
    ------
    InputError
        If it is not a cursor this service made.
    """
    match = _CURSOR_RE.match(value)
    if not match:
        raise InputError(f"Invalid cursor {value!r}", location="query", field="cursor")
    try:
        time = _EPOCH + timedelta(microseconds=int(match.group(2)))
    except OverflowError:
        raise InputError(
            f"Invalid cursor {value!r}", location="query", field="cursor"
        ) from None
    entry_id = int(match.group(3))
    if entry_id > _MAX_ID:
        raise InputError(f"Invalid cursor {value!r}", location="query", field="cursor")
    return HistoryCursor(time=time, id=entry_id, previous=bool(match.group(1)))


def format_cursor(cursor: HistoryCursor) -> str:
    """Write a cursor string."""
    micros = (cursor.time - _EPOCH) // timedelta(microseconds=1)
    return f"{'p' if cursor.previous else ''}{micros}_{cursor.id}"


def _cursor(record: TokenChangeHistoryRecord, *, previous: bool = False) -> str:
    return format_cursor(
        HistoryCursor(time=record.event_time, id=record.id, previous=previous)
    )


def _entry(record: TokenChangeHistoryRecord) -> TokenChangeHistoryEntry:
    return TokenChangeHistoryEntry(
        token=record.token,
        username=record.username,
        token_type=TokenType(record.token_type),
        token_name=record.token_name,
        parent=record.parent,
        scopes=list(record.scopes),
        service=record.service,
        expires=record.expires,
        actor=record.actor,
        action=TokenChange(record.action),
        old_token_name=record.old_token_name,
        old_scopes=record.old_scopes,
        old_expires=record.old_expires,
        ip_address=record.ip_address,
        event_time=record.event_time,
    )


class TokenHistoryLister:
    """Pages through history entries matching a filter."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @staticmethod
    def filter(
        *,
        username: str | None,
        key: str | None,
        token_type: str | None,
        ip_address: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> HistoryFilter:
        """A checked filter (the IP address is checked by the query)."""
        if key is not None and not Token.is_valid_key(key):
            raise InputError(
                f"Invalid token key {key!r}", location="query", field="key"
            )
        if token_type is not None and token_type not in TokenType.__members__:
            raise InputError(
                f"Unknown token type {token_type}", location="query", field="token_type"
            )
        return HistoryFilter(
            username=username,
            key=key,
            token_type=token_type,
            ip_address=ip_address,
            since=_as_utc(since) if since else None,
            until=_as_utc(until) if until else None,
        )

    async def page(
        self, where: HistoryFilter, *, cursor: str | None, limit: int | None
    ) -> tuple[list[TokenChangeHistoryEntry], int, str | None, str | None]:
        """Entries, total count, next cursor and previous cursor."""
        if limit is not None and not 1 <= limit <= MAX_HISTORY_LIMIT:
            raise InputError(
                f"limit must be between 1 and {MAX_HISTORY_LIMIT}",
                location="query",
                field="limit",
            )
        position = parse_cursor(cursor) if cursor else None
        if position is not None and limit is None:
            raise InputError("a cursor needs a limit", location="query", field="limit")
        async with self._sessions() as session:
            store = TokenChangeHistoryStore(session)
            total = await store.count(where)
            if position is not None and position.previous:
                assert limit is not None
                page = await self._newer_page(store, where, position, limit)
            else:
                page = await self._older_page(store, where, position, limit)
        records, next_cursor, prev_cursor = page
        return [_entry(r) for r in records], total, next_cursor, prev_cursor

    @staticmethod
    async def _older_page(
        store: TokenChangeHistoryStore,
        where: HistoryFilter,
        position: HistoryCursor | None,
        limit: int | None,
    ) -> tuple[list[TokenChangeHistoryRecord], str | None, str | None]:
        start = HistoryPosition(position.time, position.id) if position else None
        older = await store.list_older(where, start, limit + 1 if limit else None)
        records = older[:limit] if limit else older
        next_cursor = None
        if limit and len(older) > limit:
            next_cursor = _cursor(older[limit])
        prev_cursor = None
        if position is not None and records:
            prev_cursor = _cursor(records[0], previous=True)
        return records, next_cursor, prev_cursor

    @staticmethod
    async def _newer_page(
        store: TokenChangeHistoryStore,
        where: HistoryFilter,
        position: HistoryCursor,
        limit: int,
    ) -> tuple[list[TokenChangeHistoryRecord], str | None, str | None]:
        at = HistoryPosition(position.time, position.id)
        newer = await store.list_newer(where, at, limit + 1)
        records = list(reversed(newer[:limit]))
        next_cursor = format_cursor(position.model_copy(update={"previous": False}))
        prev_cursor = None
        if records and len(newer) > limit:
            prev_cursor = _cursor(records[0], previous=True)
        return records, next_cursor, prev_cursor


class TokenHistoryService:
    """Who may read which token change history, and the reading itself."""

    def __init__(
        self, *, config: Config, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self._rules = TokenRules(config)
        self._sessions = sessions

    async def get_change_history(
        self,
        auth: TokenData,
        *,
        username: str | None = None,
        key: str | None = None,
        token_type: str | None = None,
        ip_address: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[TokenChangeHistoryEntry], int, str | None, str | None]:
        """Return history entries, total count, and next/previous cursors.

        Without ``username`` the caller must hold ``admin:token``
        (admin-wide history). Newest first. ``ip_address`` is an address or
        a CIDR network; ``cursor`` is one returned by an earlier call, and
        needs ``limit``.
        """
        if username is None:
            self._rules.check_admin(auth, "Token history of all users")
        else:
            self._rules.check_may_read(auth, username)
        where = TokenHistoryLister.filter(
            username=username,
            key=key,
            token_type=token_type,
            ip_address=ip_address,
            since=since,
            until=until,
        )
        return await TokenHistoryLister(self._sessions).page(
            where, cursor=cursor, limit=limit
        )
