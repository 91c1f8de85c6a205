"""Token logic: issuing, validating, delegating, editing and revoking tokens.

The rules of the platform contract live here and in
:mod:`~rsp_gateway.services.token_rules`: who may create which token with
which scopes, that children never outlive or out-scope their parent
(:mod:`~rsp_gateway.services.delegation`), that revocation is recursive and
immediate everywhere, and that every change is recorded with its actor, IP
address and time. SQL lives in :mod:`rsp_gateway.storage`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.stdlib import BoundLogger

from ..config import Config
from ..exceptions import (
    InputError,
    InsufficientScopeError,
    InvalidTokenError,
    NotFoundError,
    PermissionDeniedError,
)
from ..models.history import TokenChange
from ..models.token import (
    AdminTokenRequest,
    Token,
    TokenData,
    TokenInfo,
    TokenType,
    UserTokenModifyRequest,
    UserTokenRequest,
)
from ..models.userinfo import UserInfo
from ..schema import TokenRecord
from ..storage.cache import ChildKey, TokenCache
from ..storage.credential import (
    GitHubCredentialStore,
    GitHubTokenCipher,
    UnreadableCredentialError,
)
from ..storage.history import TokenChangeHistoryStore
from ..storage.last_used import LastUsedRecorder
from ..storage.token import TokenStore, delete_token_trees
from .delegation import ChildTokenProvider
from .token_rules import (
    TokenHasher,
    TokenRules,
    clean_ip,
)
from .validation import TokenValidator

__all__ = ["TokenService"]


class TokenService:
    """Everything that can happen to a token, with its authorization rules.

    Every method that acts for a caller takes the caller's ``auth``
    (:class:`TokenData`) and the client ``ip_address`` so that changes are
    recorded with their actor, and raises
    :class:`~rsp_gateway.exceptions.PermissionDeniedError` /
    :class:`~rsp_gateway.exceptions.NotFoundError` /
    :class:`~rsp_gateway.exceptions.InputError` for what the caller may not
    do or asked wrongly.
    """

    def __init__(
        self,
        *,
        config: Config,
        sessions: async_sessionmaker[AsyncSession],
        cache: TokenCache,
        last_used: LastUsedRecorder,
        hasher: TokenHasher,
        child_locks: dict[ChildKey, asyncio.Lock],
        logger: BoundLogger,
    ) -> None:
        self._config = config
        self._sessions = sessions
        self._cache = cache
        self._last_used = last_used
        self._hasher = hasher
        self._logger = logger
        self._rules = TokenRules(config)
        self._cipher = GitHubTokenCipher(config.token_hash_key.get_secret_value())
        self._validator = TokenValidator(
            config=config, sessions=sessions, cache=cache, hasher=hasher
        )
        self._children = ChildTokenProvider(
            config=config,
            cache=cache,
            validator=self._validator,
            locks=child_locks,
            mint=self._mint_child,
        )

    async def validate(self, token: Token) -> TokenData | None:
        """Return the data of a valid token, or `None`.

        `None` for unknown, wrong-secret, expired or revoked tokens. The
        secret is compared in constant time against its keyed hash. Answers
        come from the cache when possible; revocation invalidates the cache
        of every process at once. Records last use (batched).
        """
        data = await self._validator.lookup(token)
        if data is not None and data.key and not self._validator.is_bootstrap(data):
            self._last_used.record(data.key)
        return data

    def is_bootstrap(self, data: TokenData) -> bool:
        """Whether ``data`` is the configured bootstrap token (never stored)."""
        return self._validator.is_bootstrap(data)

    # Creation -----------------------------------------------------------

    async def create_session_token(
        self,
        user: UserInfo,
        scopes: list[str],
        *,
        ip_address: str | None,
        github_token: SecretStr | None = None,
    ) -> Token:
        """Issue the session token of a browser login.

        ``github_token``, the GitHub access token of a GitHub login, is kept
        encrypted with the session so that its groups can be refreshed.
        """
        self._rules.check_username(user.username)
        return await self._issue(
            username=user.username,
            token_type=TokenType.session,
            scopes=self._rules.known_scopes(scopes),
            expires=datetime.now(UTC) + self._config.session_lifetime,
            identity=user,
            actor=user.username,
            ip_address=ip_address,
            github_token=github_token,
        )

    async def create_user_token(
        self,
        auth: TokenData,
        username: str,
        request: UserTokenRequest,
        *,
        ip_address: str | None,
    ) -> Token:
        """Issue a user token for ``username``.

        The caller must be ``username`` with ``user:token``, or hold
        ``admin:token``. Scopes must be known and (for non-admins) a subset
        of the caller's; expiry must be in the future; names are unique per
        user.
        """
        self._rules.check_may_manage(auth, username)
        self._rules.check_username(username)
        return await self._issue(
            username=username,
            token_type=TokenType.user,
            scopes=self._rules.grantable_scopes(auth, request.scopes),
            expires=self._rules.future_expiry(request.expires),
            token_name=request.token_name,
            identity=auth.identity() if auth.username == username else None,
            actor=auth.username,
            ip_address=ip_address,
        )

    async def create_admin_token(
        self, auth: TokenData, request: AdminTokenRequest, *, ip_address: str | None
    ) -> Token:
        """Issue a service (``bot-*`` users only) or user token as an admin.

        The caller must hold ``admin:token``.
        """
        self._rules.check_admin_request(auth, request)
        identity = UserInfo(
            username=request.username,
            name=request.name,
            email=request.email,
            uid=request.uid,
            gid=request.gid,
            groups=request.groups or [],
        )
        return await self._issue(
            username=request.username,
            token_type=request.token_type,
            scopes=self._rules.known_scopes(request.scopes),
            expires=self._rules.future_expiry(request.expires),
            token_name=request.token_name,
            identity=identity,
            actor=auth.username,
            ip_address=ip_address,
        )

    async def _issue(
        self,
        *,
        username: str,
        token_type: TokenType,
        scopes: list[str],
        expires: datetime | None,
        actor: str,
        ip_address: str | None,
        identity: UserInfo | None = None,
        token_name: str | None = None,
        parent: str | None = None,
        service: str | None = None,
        github_token: SecretStr | None = None,
    ) -> Token:
        token = Token.generate()
        now = datetime.now(UTC)
        record = TokenRecord(
            key=token.key,
            secret_hash=self._hasher.hash(token.secret),
            username=username,
            token_type=token_type.value,
            token_name=token_name,
            scopes=scopes,
            service=service,
            created=now,
            expires=expires,
            parent=parent,
        )
        if identity is not None:
            record.name = identity.name
            record.email = identity.email
            record.uid = identity.uid
            record.gid = identity.gid
            record.groups = [g.model_dump() for g in identity.groups]
        try:
            async with self._sessions.begin() as session:
                store = TokenStore(session)
                if token_name is not None and await store.name_taken(
                    username, token_name
                ):
                    raise self._rules.name_taken(token_name)
                if parent is not None:
                    await self._check_parent(store, parent, scopes)
                await store.add(record)
                if github_token is not None:
                    sealed = self._cipher.encrypt(github_token)
                    GitHubCredentialStore(session).add(token.key, sealed, now)
                TokenChangeHistoryStore(session).record(
                    record,
                    TokenChange.create,
                    actor=actor,
                    ip_address=clean_ip(ip_address),
                    event_time=now,
                )
        except IntegrityError:
            if parent is not None:
                raise InvalidTokenError("The token was revoked; log in again") from None
            raise self._rules.name_taken(token_name or "") from None
        self._logger.info(
            "Created token",
            token_key=token.key,
            token_username=username,
            token_type=token_type.value,
            token_scopes=scopes,
            parent=parent,
            service=service,
        )
        return token

    @staticmethod
    async def _check_parent(store: TokenStore, parent: str, scopes: list[str]) -> None:
        """The parent still exists and holds ``scopes`` (checked in the database).

        The caller's view of the parent may be a moment old: a group refresh
        or a change may have narrowed it meanwhile. The parent row stays
        shared-locked until the child is written, so no change slips between.
        """
        held = await store.scopes_for_child(parent)
        if held is None:
            raise InvalidTokenError("The token was revoked; log in again")
        if not set(scopes) <= held:
            raise InsufficientScopeError(
                "The token's scopes changed meanwhile; try again"
            )

    # Children -----------------------------------------------------------

    async def get_notebook_token(
        self,
        parent: TokenData,
        *,
        ip_address: str | None,
        minimum_lifetime: timedelta | None = None,
    ) -> Token:
        """Return a notebook token, child of ``parent``, reusing a live one.

        An existing child with at least ``minimum_lifetime`` left is reused.
        The child never outlives nor out-scopes its parent.
        """
        key = ChildKey(parent.key, TokenType.notebook.value, None, parent.scopes)
        return await self._children.get(
            parent, key, ip_address=ip_address, minimum_lifetime=minimum_lifetime
        )

    async def get_internal_token(
        self,
        parent: TokenData,
        *,
        service: str,
        scopes: list[str],
        ip_address: str | None,
        minimum_lifetime: timedelta | None = None,
    ) -> Token:
        """Return an internal token for ``service`` with ``scopes``, reusing a live one.

        ``scopes`` must be a subset of the parent's (the ingress asks only for
        the intersection).
        """
        if not service or len(service) > 64:
            raise InputError("service must be 1 to 64 characters", field="service")
        wanted = frozenset(self._rules.known_scopes(scopes))
        if not wanted <= parent.scopes:
            missing = ", ".join(sorted(wanted - parent.scopes))
            raise InsufficientScopeError(
                f"The token lacks scopes to delegate: {missing}"
            )
        key = ChildKey(parent.key, TokenType.internal.value, service, wanted)
        return await self._children.get(
            parent, key, ip_address=ip_address, minimum_lifetime=minimum_lifetime
        )

    async def _mint_child(
        self,
        parent: TokenData,
        key: ChildKey,
        expires: datetime,
        ip_address: str | None,
    ) -> Token:
        return await self._issue(
            username=parent.username,
            token_type=TokenType(key.token_type),
            scopes=sorted(key.scopes),
            expires=expires,
            identity=parent.identity(),
            actor=parent.username,
            ip_address=ip_address,
            parent=parent.key,
            service=key.service,
        )

    # Reading ------------------------------------------------------------

    async def get_token_info(
        self, auth: TokenData, username: str, key: str
    ) -> TokenInfo:
        """Return one token's metadata (its owner or ``admin:token``)."""
        self._rules.check_may_read(auth, username)
        if not Token.is_valid_key(key):
            raise _not_found(username, key)
        async with self._sessions() as session:
            record = await TokenStore(session).get(key)
        if record is None or record.username != username or _expired(record):
            raise _not_found(username, key)
        return self._info(record)

    async def info_for(self, data: TokenData) -> TokenInfo:
        """Return the metadata of the presented token itself."""
        if self.is_bootstrap(data):
            return TokenInfo(
                token=data.key,
                username=data.username,
                token_type=data.token_type,
                scopes=sorted(data.scopes),
                created=data.created,
            )
        async with self._sessions() as session:
            record = await TokenStore(session).get(data.key)
        if record is None or _expired(record):
            raise InvalidTokenError("Token is invalid, expired or revoked")
        return self._info(record)

    async def list_tokens(self, auth: TokenData, username: str) -> list[TokenInfo]:
        """List a user's tokens (its owner or ``admin:token``)."""
        self._rules.check_may_read(auth, username)
        async with self._sessions() as session:
            records = await TokenStore(session).list_for_user(username)
        return [self._info(r) for r in records if not _expired(r)]

    def _info(self, record: TokenRecord) -> TokenInfo:
        return TokenStore.to_info(record, self._last_used.pending(record.key))

    # Changes ------------------------------------------------------------

    async def modify_token(
        self,
        auth: TokenData,
        username: str,
        key: str,
        request: UserTokenModifyRequest,
        *,
        ip_address: str | None,
    ) -> TokenInfo:
        """Change a user token's name, scopes or expiry, recording the change.

        An explicit ``"expires": null`` removes the expiry. When the scopes
        shrink or the expiry moves earlier, the token's children are revoked
        (they would otherwise out-scope or outlive it).
        """
        self._rules.check_may_manage(auth, username)
        if not Token.is_valid_key(key):
            raise _not_found(username, key)
        scopes = None
        if request.scopes is not None:
            scopes = self._rules.grantable_scopes(auth, request.scopes)
        expiry_set = "expires" in request.model_fields_set
        expires = self._rules.future_expiry(request.expires) if expiry_set else None
        now = datetime.now(UTC)
        ip = clean_ip(ip_address)
        revoked: list[str] = []
        async with self._sessions.begin() as session:
            store = TokenStore(session)
            record = await store.get_for_update(key)
            if record is None or record.username != username or _expired(record):
                raise _not_found(username, key)
            if record.token_type != TokenType.user.value:
                raise PermissionDeniedError("Only user tokens can be changed")
            old_name, old_scopes, old_expires = (
                record.token_name,
                list(record.scopes),
                record.expires,
            )
            new_name = request.token_name
            if new_name is not None and new_name != old_name:
                if await store.name_taken(username, new_name, except_key=key):
                    raise self._rules.name_taken(new_name)
                record.token_name = new_name
            if scopes is not None and set(scopes) != set(old_scopes):
                record.scopes = scopes
            if expiry_set:
                record.expires = expires
            name_changed = record.token_name != old_name
            scopes_changed = set(record.scopes) != set(old_scopes)
            expiry_changed = record.expires != old_expires
            if not (name_changed or scopes_changed or expiry_changed):
                return self._info(record)
            entry = TokenChangeHistoryStore(session).record(
                record,
                TokenChange.edit,
                actor=auth.username,
                ip_address=ip,
                event_time=now,
            )
            entry.old_token_name = old_name if name_changed else None
            entry.old_scopes = old_scopes if scopes_changed else None
            entry.old_expires = old_expires if expiry_changed else None
            narrower = not set(record.scopes) >= set(old_scopes)
            shorter = record.expires is not None and (
                old_expires is None or record.expires < old_expires
            )
            if narrower or shorter:
                children = [c.key for c in await store.children(key)]
                revoked = await delete_token_trees(
                    session, children, TokenChange.revoke, actor=auth.username, ip=ip
                )
        await self._cache.invalidate([key, *revoked])
        self._logger.info(
            "Changed token",
            token_key=key,
            token_username=username,
            revoked_children=len(revoked),
        )
        return self._info(record)

    async def revoke_token(
        self, auth: TokenData, username: str, key: str, *, ip_address: str | None
    ) -> None:
        """Revoke a token and, recursively, its children, at once everywhere."""
        self._rules.check_may_manage(auth, username)
        if not Token.is_valid_key(key):
            raise _not_found(username, key)
        async with self._sessions.begin() as session:
            record = await TokenStore(session).get(key)
            if record is None or record.username != username:
                raise _not_found(username, key)
            revoked = await delete_token_trees(
                session,
                [key],
                TokenChange.revoke,
                actor=auth.username,
                ip=clean_ip(ip_address),
            )
        await self._cache.invalidate(revoked)
        self._logger.info(
            "Revoked token",
            token_key=key,
            token_username=username,
            revoked=len(revoked),
        )

    async def revoke_session(
        self, data: TokenData, *, ip_address: str | None
    ) -> SecretStr | None:
        """Revoke the caller's own session token and its children (logout).

        Returns the GitHub access token the session's login was made with,
        if it kept one, so that the caller can have GitHub delete it too.
        """
        if not data.key or self.is_bootstrap(data):
            return None
        async with self._sessions.begin() as session:
            credential = await GitHubCredentialStore(session).get(data.key)
            github_token = (
                self._unseal(credential.encrypted_token) if credential else None
            )
            revoked = await delete_token_trees(
                session,
                [data.key],
                TokenChange.revoke,
                actor=data.username,
                ip=clean_ip(ip_address),
            )
        await self._cache.invalidate(revoked)
        self._logger.info("Revoked session", token_key=data.key, revoked=len(revoked))
        return github_token

    def _unseal(self, sealed: str) -> SecretStr | None:
        """A stored GitHub token, or `None` if it cannot be decrypted any more."""
        try:
            return self._cipher.decrypt(sealed)
        except UnreadableCredentialError:
            return None


def _expired(record: TokenRecord) -> bool:
    return record.expires is not None and record.expires <= datetime.now(UTC)


def _not_found(username: str, key: str) -> NotFoundError:
    return NotFoundError(f"No token {key} for {username}", location="path", field="key")
