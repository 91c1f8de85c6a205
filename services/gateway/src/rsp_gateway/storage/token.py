"""SQL for the ``token`` table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..models.history import TokenChange
from ..models.token import TokenData, TokenInfo, TokenType
from ..models.userinfo import Group
from ..schema import TokenRecord
from ..schema.base import UtcDateTime
from .history import TokenChangeHistoryStore

__all__ = ["TokenStore", "delete_token_trees"]


class TokenStore:
    """Reads and writes tokens within the caller's session (transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @staticmethod
    def to_info(record: TokenRecord, pending_use: datetime | None = None) -> TokenInfo:
        """The API view of a token row, with a use not yet written if newer."""
        last_used = record.last_used
        if pending_use is not None and (last_used is None or pending_use > last_used):
            last_used = pending_use
        return TokenInfo(
            token=record.key,
            username=record.username,
            token_type=TokenType(record.token_type),
            scopes=sorted(record.scopes),
            service=record.service,
            created=record.created,
            expires=record.expires,
            last_used=last_used,
            parent=record.parent,
            token_name=record.token_name,
        )

    @staticmethod
    def to_data(record: TokenRecord) -> TokenData:
        """The cacheable data of a token row."""
        return TokenData(
            key=record.key,
            username=record.username,
            token_type=TokenType(record.token_type),
            scopes=frozenset(record.scopes),
            created=record.created,
            expires=record.expires,
            parent=record.parent,
            service=record.service,
            token_name=record.token_name,
            name=record.name,
            email=record.email,
            uid=record.uid,
            gid=record.gid,
            groups=tuple(Group.model_validate(g) for g in record.groups or ()),
        )

    async def add(self, record: TokenRecord) -> None:
        """Insert a token; constraint violations surface at flush."""
        self._session.add(record)
        await self._session.flush()

    async def get(self, key: str) -> TokenRecord | None:
        """The token with this key, if it exists."""
        return await self._session.get(TokenRecord, key)

    async def get_for_update(self, key: str) -> TokenRecord | None:
        """The token with this key, locked until the transaction ends."""
        stmt = select(TokenRecord).where(TokenRecord.key == key).with_for_update()
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def scopes_for_child(self, key: str) -> set[str] | None:
        """The scopes of a token about to get a child, share-locked; `None` if gone.

        The lock (``FOR SHARE`` on PostgreSQL) keeps the row from changing
        until the transaction ends, while other children can still be made.
        """
        stmt = (
            select(TokenRecord.scopes)
            .where(TokenRecord.key == key)
            .with_for_update(read=True)
        )
        scopes = (await self._session.execute(stmt)).scalar_one_or_none()
        return None if scopes is None else set(scopes)

    async def list_for_user(self, username: str) -> list[TokenRecord]:
        """A user's tokens, newest first."""
        stmt = (
            select(TokenRecord)
            .where(TokenRecord.username == username)
            .order_by(TokenRecord.created.desc(), TokenRecord.key)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def name_taken(
        self, username: str, name: str, *, except_key: str | None = None
    ) -> bool:
        """Whether ``username`` already has a token named ``name``."""
        stmt = select(TokenRecord.key).where(
            TokenRecord.username == username, TokenRecord.token_name == name
        )
        if except_key is not None:
            stmt = stmt.where(TokenRecord.key != except_key)
        return (await self._session.execute(stmt.limit(1))).first() is not None

    async def with_descendants(self, keys: Iterable[str]) -> list[TokenRecord]:
        """The tokens with these keys and, recursively, all their children."""
        roots = list(keys)
        if not roots:
            return []
        tree = (
            select(TokenRecord.key)
            .where(TokenRecord.key.in_(roots))
            .cte(recursive=True)
        )
        tree = tree.union_all(
            select(TokenRecord.key).where(TokenRecord.parent == tree.c.key)
        )
        stmt = select(TokenRecord).where(TokenRecord.key.in_(select(tree.c.key)))
        return list((await self._session.execute(stmt)).scalars())

    async def children(self, key: str) -> list[TokenRecord]:
        """The direct children of a token."""
        stmt = select(TokenRecord).where(TokenRecord.parent == key)
        return list((await self._session.execute(stmt)).scalars())

    async def expired_keys(self, now: datetime) -> list[str]:
        """Keys of the tokens whose expiry has passed."""
        stmt = select(TokenRecord.key).where(TokenRecord.expires <= now)
        return list((await self._session.execute(stmt)).scalars())

    async def delete(self, keys: Iterable[str]) -> None:
        """Delete tokens (their children go with them by cascade)."""
        doomed = list(keys)
        if doomed:
            stmt = delete(TokenRecord).where(TokenRecord.key.in_(doomed))
            await self._session.execute(
                stmt.execution_options(synchronize_session=False)
            )

    async def record_last_used(self, used: Mapping[str, datetime]) -> None:
        """Store last-use times, never moving one backwards (workers race)."""
        if not used:
            return
        table = cast(Table, TokenRecord.__table__)
        when = bindparam("t", type_=UtcDateTime())
        stmt = (
            update(table)
            .where(table.c.key == bindparam("k"))
            .values(
                last_used=case(
                    (table.c.last_used.is_(None), when),
                    (table.c.last_used < when, when),
                    else_=table.c.last_used,
                )
            )
        )
        rows = [{"k": key, "t": at} for key, at in used.items()]
        connection = await self._session.connection()
        await connection.execute(stmt, rows)


async def delete_token_trees(
    session: AsyncSession,
    roots: Iterable[str],
    action: TokenChange,
    *,
    actor: str,
    ip: str | None,
) -> list[str]:
    """Delete tokens and all their descendants, recording each; return the keys."""
    store = TokenStore(session)
    history = TokenChangeHistoryStore(session)
    records = await store.with_descendants(roots)
    now = datetime.now(UTC)
    for record in records:
        history.record(record, action, actor=actor, ip_address=ip, event_time=now)
    keys = [r.key for r in records]
    await store.delete(keys)
    for record in records:
        session.expunge(record)
    return keys
