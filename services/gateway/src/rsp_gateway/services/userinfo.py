"""User identity as the REST API reports it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..exceptions import NotFoundError
from ..models.token import TokenData, TokenType
from ..models.userinfo import UserInfo
from ..schema import TokenRecord
from ..storage.token import TokenStore

__all__ = ["UserInfoService"]


class UserInfoService:
    """Answers who a user is, from the identity their tokens carry.

    The gateway keeps no user directory: identity is copied into tokens at
    login (or from an admin's request for service tokens).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    def user_info_for(self, data: TokenData) -> UserInfo:
        """The identity carried by a valid token."""
        return data.identity()

    async def get_user_info(self, username: str) -> UserInfo:
        """The identity of ``username`` from their most recent live token.

        A live session wins over other tokens, since a login copies the
        freshest identity; otherwise the newest live token of any type.

        Raises
        ------
        NotFoundError
            If the user has no live token, so nothing is known about them.
        """
        async with self._sessions() as session:
            records = await TokenStore(session).list_for_user(username)
        now = datetime.now(UTC)
        live = [r for r in records if r.expires is None or r.expires > now]
        if not live:
            raise NotFoundError(
                f"Nothing is known about user {username}",
                location="path",
                field="username",
            )
        sessions = [r for r in live if r.token_type == TokenType.session.value]
        newest = max(sessions or live, key=_created)
        return self.user_info_for(TokenStore.to_data(newest))


def _created(record: TokenRecord) -> datetime:
    return record.created
