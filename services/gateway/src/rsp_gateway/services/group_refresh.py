"""Refresh of live GitHub sessions: their groups and scopes follow GitHub.

A GitHub login copies the user's teams (groups) and the scopes they grant
into the session token. So that a change of teams reaches the session
before it ends, every session whose identity was read more than
``group_refresh_interval`` ago is read again from GitHub with the access
token of its login (kept encrypted, see
:mod:`~rsp_gateway.storage.credential`), and groups and scopes are
recomputed exactly as a login does (:mod:`.github_identity`). Then:

- identity (name, email, groups) is updated on the session and on its
  children (notebook and internal tokens), which carry a copy of it;
- scopes lost: the session loses them. Its children are *clipped* to the
  scopes the session keeps (a running lab goes on with what is still
  allowed), and revoked if nothing is left. User tokens the person made
  keep their scopes only if the person still holds them all: one that
  holds a lost scope is revoked (with its children). User tokens an admin
  made for the person are left alone: the admin decided those scopes;
- scopes gained: the session gains them; children are unchanged (new
  children get them);
- no scope left, GitHub answering 401 (the user revoked the app or the
  token), the GitHub account no longer being the session's user, or a
  stored token that cannot be decrypted: the session is revoked with all
  its children;
- GitHub failing or slow: nothing changes; the session is tried again
  after ``retry_delay``. A passing error never revokes anything.

Every change of scopes and every revocation is recorded in the token
history with the actor ``<refresh>`` (an identity-only change is logged,
since history records scopes, names and expiries), and every changed
token is evicted from the caches of every process at once.

Refreshers share the work through the ``github_credential`` table: a
refresher *claims* due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)
by setting ``claimed_until``, so that two replicas never refresh the same
session at once, and applies a result only while it still holds the claim.
Sessions of the development identity provider have no GitHub token and
are never refreshed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.stdlib import BoundLogger

from ..config import Config
from ..exceptions import LoginFailedError, UpstreamCredentialError, UpstreamError
from ..models.history import TokenChange
from ..models.token import TokenType
from ..models.userinfo import UserInfo
from ..schema import TokenRecord
from ..storage.cache import TokenCache
from ..storage.credential import (
    DueCredential,
    GitHubCredentialStore,
    GitHubTokenCipher,
    UnreadableCredentialError,
)
from ..storage.github import GitHubStorage
from ..storage.history import TokenChangeHistoryStore
from ..storage.token import TokenStore, delete_token_trees
from .github_identity import scopes_for, user_from_github

__all__ = [
    "CLAIM_LEASE",
    "REFRESH_ACTOR",
    "GroupRefreshService",
    "RefreshOutcome",
    "RefreshSummary",
    "refresh_period",
]

REFRESH_ACTOR = "<refresh>"
"""Actor recorded in token history for changes made by the refresh."""

CLAIM_LEASE = timedelta(minutes=10)
"""How long a refresher holds a claimed session (far above GitHub's timeouts)."""

_BATCH = 50
_CONCURRENCY = 4


class RefreshOutcome(StrEnum):
    """What the refresh of one session did."""

    unchanged = "unchanged"
    changed = "changed"
    revoked = "revoked"
    failed = "failed"
    """GitHub failed; nothing changed, tried again later."""
    skipped = "skipped"
    """The session ended or another refresher took it meanwhile."""


@dataclass(slots=True)
class RefreshSummary:
    """How many sessions each outcome had in one run."""

    counts: dict[RefreshOutcome, int] = field(default_factory=dict)

    def add(self, outcome: RefreshOutcome) -> None:
        """Count one session."""
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def __getitem__(self, outcome: RefreshOutcome) -> int:
        return self.counts.get(outcome, 0)

    @property
    def total(self) -> int:
        """Sessions looked at."""
        return sum(self.counts.values())

    def __str__(self) -> str:
        return (
            f"refreshed {self.total} GitHub sessions"
            f" ({self[RefreshOutcome.changed]} changed,"
            f" {self[RefreshOutcome.revoked]} revoked,"
            f" {self[RefreshOutcome.failed]} failed)"
        )


def refresh_period(interval: timedelta) -> timedelta:
    """How often the background loop looks for due sessions.

    A quarter of the interval, between 15 seconds and 5 minutes, so that a
    session is refreshed at most a few minutes after it is due.
    """
    return max(timedelta(seconds=15), min(interval / 4, timedelta(minutes=5)))


@dataclass(frozen=True, slots=True)
class _Fresh:
    """What GitHub says about the session's user now."""

    user: UserInfo
    scopes: list[str]


class GroupRefreshService:
    """Reads live GitHub sessions' identity again and applies the changes.

    Parameters
    ----------
    config
        The gateway's configuration (interval, group mapping).
    sessions
        Database sessions.
    cache
        The token cache, evicted (in every process) for changed tokens.
    github
        GitHub, or `None` when GitHub login is not configured (nothing to do).
    logger
        Logger.
    retry_delay
        How long a session waits after GitHub failed (default: the loop's
        period, so the next run tries again).
    """

    def __init__(
        self,
        *,
        config: Config,
        sessions: async_sessionmaker[AsyncSession],
        cache: TokenCache,
        github: GitHubStorage | None,
        logger: BoundLogger,
        retry_delay: timedelta | None = None,
    ) -> None:
        self._interval = config.group_refresh_interval
        self._mapping = config.group_mapping
        self._sessions = sessions
        self._cache = cache
        self._github = github
        self._logger = logger
        self._cipher = GitHubTokenCipher(config.token_hash_key.get_secret_value())
        self._retry_delay = (
            retry_delay if retry_delay is not None else refresh_period(self._interval)
        )

    @property
    def enabled(self) -> bool:
        """Whether sessions are refreshed at all (GitHub login, interval > 0)."""
        return self._github is not None and self._interval > timedelta(0)

    async def refresh_due(self) -> RefreshSummary:
        """Refresh every live GitHub session that is due, in batches.

        Due: last refreshed at least ``group_refresh_interval`` before this
        run started, and not claimed by another refresher (nor waiting
        after a failure). Each session is looked at once per run.
        """
        summary = RefreshSummary()
        if not self.enabled:
            return summary
        started = datetime.now(UTC)
        limit = asyncio.Semaphore(_CONCURRENCY)

        async def one(due: DueCredential) -> RefreshOutcome:
            async with limit:
                try:
                    return await self._refresh(due)
                except (SQLAlchemyError, OSError) as e:
                    # Its claim lapses after CLAIM_LEASE; then it is tried again.
                    self._logger.warning(
                        "Could not refresh GitHub session",
                        token_key=due.key,
                        error=str(e),
                    )
                    return RefreshOutcome.failed

        while True:
            async with self._sessions.begin() as session:
                claimed = await GitHubCredentialStore(session).claim_due(
                    now=started,
                    refreshed_before=started - self._interval,
                    until=datetime.now(UTC) + CLAIM_LEASE,
                    limit=_BATCH,
                )
            for outcome in await asyncio.gather(*(one(d) for d in claimed)):
                summary.add(outcome)
            if len(claimed) < _BATCH:
                break
        if summary.total:
            counts = {o.value: n for o, n in summary.counts.items()}
            self._logger.info("Refreshed GitHub sessions", **counts)
        return summary

    async def _refresh(self, due: DueCredential) -> RefreshOutcome:
        """Refresh one claimed session; never raises for GitHub's failures."""
        try:
            fresh = await self._read_github(due)
        except UpstreamError as e:
            await self._postpone(due)
            self._logger.warning(
                "Could not refresh GitHub session; will try again",
                token_key=due.key,
                reason=e.message,
            )
            return RefreshOutcome.failed
        except (UpstreamCredentialError, UnreadableCredentialError) as e:
            return await self._apply(due, None, reason=str(e))
        return await self._apply(due, fresh, reason="no scope left")

    async def _read_github(self, due: DueCredential) -> _Fresh:
        """What GitHub says now.

        Raises
        ------
        UpstreamCredentialError
            GitHub refuses the token, or the account cannot be a user here.
        UnreadableCredentialError
            The stored token cannot be decrypted.
        UpstreamError
            GitHub failed; try again later.
        """
        assert self._github is not None
        access_token = self._cipher.decrypt(due.sealed)
        info = await self._github.get_user_info_with_token(access_token)
        try:
            user = user_from_github(info, self._logger)
        except LoginFailedError as e:
            raise UpstreamCredentialError(e.message) from None
        return _Fresh(user, scopes_for(self._mapping, (g.name for g in user.groups)))

    async def _postpone(self, due: DueCredential) -> None:
        async with self._sessions.begin() as session:
            record = await GitHubCredentialStore(session).get_for_update(due.key)
            if record is not None and record.claimed_until == due.claim:
                record.claimed_until = datetime.now(UTC) + self._retry_delay

    async def _apply(
        self, due: DueCredential, fresh: _Fresh | None, *, reason: str
    ) -> RefreshOutcome:
        """Apply what GitHub said (`None`: revoke) while still holding the claim."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            # The token row first, as logout and revocation lock it first.
            store = TokenStore(session)
            record = await store.get_for_update(due.key)
            credential = await GitHubCredentialStore(session).get_for_update(due.key)
            if (
                record is None
                or credential is None
                or credential.claimed_until != due.claim
                or (record.expires is not None and record.expires <= now)
            ):
                return RefreshOutcome.skipped
            if fresh is not None and (
                fresh.user.username != record.username or fresh.user.uid != record.uid
            ):
                fresh, reason = None, "the GitHub account is another user now"
            if fresh is None or not fresh.scopes:
                evicted = await _revoke(session, [due.key])
                outcome = RefreshOutcome.revoked
            else:
                evicted = await self._update(session, record, fresh, now)
                credential.refreshed = now
                credential.claimed_until = None
                outcome = (
                    RefreshOutcome.changed if evicted else RefreshOutcome.unchanged
                )
        await self._cache.invalidate(evicted)
        if outcome is RefreshOutcome.revoked:
            self._logger.info(
                "Revoked GitHub session at refresh",
                token_key=due.key,
                token_username=record.username,
                reason=reason,
                revoked=len(evicted),
            )
        return outcome

    async def _update(
        self, session: AsyncSession, record: TokenRecord, fresh: _Fresh, now: datetime
    ) -> list[str]:
        """Apply a fresh identity to a session; return the keys to evict."""
        store = TokenStore(session)
        history = TokenChangeHistoryStore(session)
        new_scopes = set(fresh.scopes)
        old_scopes = set(record.scopes)
        lost = old_scopes - new_scopes
        user = fresh.user
        groups = [g.model_dump() for g in user.groups]
        identity = (user.name, user.email, groups)
        descendants = [
            r for r in await store.with_descendants([record.key]) if r.key != record.key
        ]
        # Children lose the scopes the session lost; those left with none go.
        emptied = [
            r.key
            for r in descendants
            if set(r.scopes) & lost and not set(r.scopes) & new_scopes
        ]
        revoked = await _revoke(session, emptied)
        gone = set(revoked)
        revoked += await _revoke(
            session, await self._exceeding_user_tokens(session, user, new_scopes)
        )
        changed: list[str] = []
        for token in [record, *(r for r in descendants if r.key not in gone)]:
            updated = (token.name, token.email, token.groups) != identity
            token.name, token.email, token.groups = identity
            scopes = new_scopes if token is record else set(token.scopes) & new_scopes
            if scopes != set(token.scopes):
                updated = True
                old = sorted(token.scopes)
                token.scopes = sorted(scopes)
                entry = history.record(
                    token,
                    TokenChange.edit,
                    actor=REFRESH_ACTOR,
                    ip_address=None,
                    event_time=now,
                )
                entry.old_scopes = old
            if updated:
                changed.append(token.key)
        if not (changed or revoked):
            return []
        self._logger.info(
            "Refreshed GitHub session",
            token_key=record.key,
            token_username=record.username,
            scopes=sorted(new_scopes),
            lost_scopes=sorted(lost),
            gained_scopes=sorted(new_scopes - old_scopes),
            groups=[g.name for g in user.groups],
            revoked=len(revoked),
        )
        return [*changed, *revoked]

    async def _exceeding_user_tokens(
        self, session: AsyncSession, user: UserInfo, scopes: set[str]
    ) -> list[str]:
        """Keys of the person's own user tokens that hold a scope they lost.

        A user token whose creation was recorded with another actor (an
        admin) is spared; one whose creation is no longer recorded is
        treated as the person's.
        """
        records = await TokenStore(session).list_for_user(user.username)
        exceeding = [
            r.key
            for r in records
            if r.token_type == TokenType.user.value and not set(r.scopes) <= scopes
        ]
        creators = await TokenChangeHistoryStore(session).creators(exceeding)
        return [
            key
            for key in exceeding
            if creators.get(key, user.username) == user.username
        ]


async def _revoke(session: AsyncSession, roots: list[str]) -> list[str]:
    """Revoke tokens and their descendants as the refresh; return the keys."""
    if not roots:
        return []
    return await delete_token_trees(
        session, roots, TokenChange.revoke, actor=REFRESH_ACTOR, ip=None
    )
