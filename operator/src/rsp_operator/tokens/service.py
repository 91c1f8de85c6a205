"""Reconciling a ServiceToken: keep a valid token of the spec in its Secret.

One reconcile reads the Secret, presents its token to the gateway, and
makes a new token only when there is none, the gateway refuses it (revoked,
expired), it no longer fits the spec (user, scopes, lifetime) or it is
within ``rotateBefore`` of its expiry. The new token is written to the
Secret before the old one is revoked, so that the Secret never holds a
revoked token that the operator replaced. A reconcile that finds nothing to
do writes nothing. Token secrets are never logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError

from ..gateway import (
    GatewayClient,
    GatewayError,
    GatewayRefusedError,
    GatewayUnavailableError,
    TokenInfo,
)
from ..gateway.models import token_key
from .errors import PermanentTokenError, ServiceTokenError, TemporaryTokenError
from .kubernetes import MANAGED_BY, KubernetesError, SecretState, ServiceTokenStore
from .models import (
    KIND,
    ServiceTokenRef,
    ServiceTokenSpec,
    TokenAction,
    TokenOutcome,
    describe_spec_error,
)
from .rotation import decide, replaced_tokens
from .status import (
    PendingRevocation,
    Readiness,
    ReadyStatus,
    TokenFields,
    format_time,
    pending_revocations,
    updated_status,
)

__all__ = ["RETRY_DELAY", "ServiceTokenService", "utc_now"]

RETRY_DELAY = 60.0
"""Seconds before a reconcile that failed for a passing reason is retried."""

_EVENT_REASONS = {
    TokenAction.CREATED: "TokenCreated",
    TokenAction.REPLACED: "TokenReplaced",
    TokenAction.ROTATED: "TokenRotated",
}


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def _rotate_at(spec: ServiceTokenSpec, info: TokenInfo) -> datetime | None:
    margin = spec.rotation_margin
    if margin is None or info.expires is None:
        return None
    return info.expires - margin


class ServiceTokenService:
    """Creates, checks, rotates and revokes the tokens of ServiceTokens.

    Parameters
    ----------
    gateway
        The gateway's token API.
    store
        The Kubernetes objects (Secret, status, events).
    locks
        One lock per ServiceToken uid, shared by every service of the process,
        so that a timer and a change handler never reconcile one object at once.
    clock
        The current time (tests move it forward to reach a rotation).
    """

    def __init__(
        self,
        gateway: GatewayClient,
        store: ServiceTokenStore,
        locks: dict[str, asyncio.Lock],
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._gateway = gateway
        self._store = store
        self._locks = locks
        self._clock = clock
        self._logger = structlog.get_logger("rsp_operator.servicetoken")

    def _lock(self, ref: ServiceTokenRef) -> asyncio.Lock:
        return self._locks.setdefault(ref.uid, asyncio.Lock())

    async def reconcile(
        self, ref: ServiceTokenRef, spec: Mapping[str, Any], status: Mapping[str, Any]
    ) -> TokenOutcome:
        """Make sure the Secret holds a valid token of ``spec``; update the status.

        Raises
        ------
        PermanentTokenError
            If the spec is invalid, the Secret belongs to something else or the
            gateway refused; the Ready condition says why.
        TemporaryTokenError
            If the gateway or Kubernetes is unavailable; retry after ``delay``.
        """
        async with self._lock(ref):
            logger = self._logger.bind(servicetoken=str(ref))
            try:
                # The status as it is now: the body kopf gave may predate the
                # status written by the last reconcile.
                current = dict(await self._store.read_status(ref) or status)
            except KubernetesError as e:
                raise self._kubernetes_failure(e) from None
            try:
                parsed = ServiceTokenSpec.model_validate(dict(spec))
            except ValidationError as e:
                error = PermanentTokenError(
                    f"Invalid ServiceToken: {describe_spec_error(e)}", "InvalidSpec"
                )
                await self._report_failure(ref, current, error, has_token=False)
                raise error from None
            try:
                outcome = await self._reconcile(ref, parsed, current)
            except ServiceTokenError as error:
                has_token = bool(current.get("tokenKey"))
                await self._report_failure(ref, current, error, has_token=has_token)
                logger.warning(
                    "ServiceToken not reconciled", reason=error.reason, error=str(error)
                )
                raise
            if outcome.action is not TokenAction.NONE:
                logger.info(
                    "Wrote a new token to the Secret",
                    action=outcome.action.value,
                    token_key=outcome.key,
                    why=outcome.reason,
                )
            return outcome

    async def _reconcile(
        self, ref: ServiceTokenRef, spec: ServiceTokenSpec, current: dict[str, Any]
    ) -> TokenOutcome:
        now = self._clock()
        pending = pending_revocations(current)
        secret = await self._read_own_secret(ref)
        token = secret.token if secret is not None else None
        info = await self._check(token) if token is not None else None
        decision = decide(
            spec, status=current, secret=secret, token=token, info=info, now=now
        )
        labels = {**spec.secret_labels, "app.kubernetes.io/managed-by": MANAGED_BY}
        annotations = dict(spec.secret_annotations)
        if decision is None:
            assert token is not None
            assert info is not None
            if secret is None or not self._metadata_matches(
                secret, ref, labels, annotations
            ):
                await self._write_secret(ref, token, labels, annotations, secret)
            fields = TokenFields(
                key=info.key, expires=info.expires, created=info.created
            )
            outcome = TokenOutcome(
                TokenAction.NONE, info.key, info.expires, _rotate_at(spec, info)
            )
        else:
            new_token, new_info = await self._create(spec, now)
            try:
                await self._write_secret(ref, new_token, labels, annotations, secret)
            except ServiceTokenError:
                # Nobody will ever hold this token: do not leave it valid.
                await self._revoke_pending(
                    ref, [PendingRevocation(spec.username, new_info.key)]
                )
                raise
            pending.extend(replaced_tokens(spec, current, info, new_info.key))
            fields = TokenFields(
                key=new_info.key, expires=new_info.expires, created=new_info.created
            )
            outcome = TokenOutcome(
                decision.action,
                new_info.key,
                new_info.expires,
                _rotate_at(spec, new_info),
                decision.reason,
            )
            await self._store.post_event(
                ref,
                reason=_EVENT_REASONS[decision.action],
                message=f"Token {new_info.key} for {spec.username}: {decision.reason}",
            )
        pending = await self._revoke_pending(ref, pending)
        readiness = Readiness(
            ReadyStatus.TRUE, "TokenValid", self._valid_message(spec, fields)
        )
        new_status = updated_status(
            current,
            readiness=readiness,
            generation=ref.generation,
            now=now,
            token=fields,
            pending=pending,
        )
        if new_status != current:
            await self._write_status(ref, new_status)
        return outcome

    @staticmethod
    def _metadata_matches(
        secret: SecretState,
        ref: ServiceTokenRef,
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> bool:
        return (
            secret.labels == labels
            and secret.annotations == annotations
            and (ref.name, ref.uid) in secret.owner_uids(KIND)
        )

    @staticmethod
    def _valid_message(spec: ServiceTokenSpec, fields: TokenFields) -> str:
        scopes = ", ".join(spec.scopes) or "no scopes"
        until = (
            f"until {format_time(fields.expires)}"
            if fields.expires is not None
            else "with no expiry"
        )
        return f"Token {fields.key} for {spec.username} ({scopes}) is valid {until}"

    # Gateway ------------------------------------------------------------

    async def _check(self, token: str) -> TokenInfo | None:
        try:
            return await self._gateway.token_info(token)
        except GatewayError as e:
            raise self._gateway_failure(e) from None

    async def _create(
        self, spec: ServiceTokenSpec, now: datetime
    ) -> tuple[str, TokenInfo]:
        expires = now + spec.lifetime if spec.lifetime is not None else None
        try:
            token = await self._gateway.create_service_token(
                spec.username, spec.scopes, expires
            )
        except GatewayError as e:
            raise self._gateway_failure(e) from None
        try:
            info = await self._gateway.token_info(token)
        except GatewayError as e:
            key = token_key(token)
            if key is not None:
                await self._revoke_quietly(PendingRevocation(spec.username, key))
            raise self._gateway_failure(e) from None
        if info is None:
            key = token_key(token)
            if key is not None:
                await self._revoke_quietly(PendingRevocation(spec.username, key))
            raise TemporaryTokenError(
                f"The gateway at {self._gateway.url} refused the token it just made",
                "GatewayUnavailable",
                RETRY_DELAY,
            )
        return token, info

    async def _revoke_pending(
        self, ref: ServiceTokenRef, pending: list[PendingRevocation]
    ) -> list[PendingRevocation]:
        """Revoke replaced tokens; those the gateway could not revoke stay pending."""
        remaining = []
        for old in pending:
            if not await self._revoke_quietly(old, servicetoken=str(ref)):
                remaining.append(old)
        return remaining

    async def _revoke_quietly(self, target: PendingRevocation, **context: str) -> bool:
        """Revoke a token, logging (not raising) a failure; whether it worked."""
        try:
            await self._gateway.revoke_token(target.username, target.key)
        except GatewayError as e:
            self._logger.warning(
                "Could not revoke a token; will retry",
                token_key=target.key,
                error=str(e),
                **context,
            )
            return False
        return True

    async def revoke(
        self, ref: ServiceTokenRef, spec: Mapping[str, Any], status: Mapping[str, Any]
    ) -> list[str]:
        """Revoke every token of a ServiceToken that is being deleted.

        The Secret itself goes with its owner (garbage collection).

        Returns
        -------
        list of str
            Keys of the tokens the gateway revoked now.

        Raises
        ------
        PermanentTokenError
            If the gateway refused (for example a bad admin token).
        TemporaryTokenError
            If the gateway or Kubernetes is unavailable.
        """
        async with self._lock(ref):
            username = str(spec.get("username") or "")
            targets = pending_revocations(status)
            try:
                secret = await self._store.read_secret(ref.namespace, ref.name)
            except KubernetesError as e:
                raise self._kubernetes_failure(e) from None
            keys = [status.get("tokenKey")]
            if secret is not None and (ref.name, ref.uid) in secret.owner_uids(KIND):
                keys.append(token_key(secret.token or ""))
            for key in keys:
                if isinstance(key, str) and key and username:
                    targets.append(PendingRevocation(username=username, key=key))
            revoked = []
            for target in dict.fromkeys(targets):
                try:
                    if await self._gateway.revoke_token(target.username, target.key):
                        revoked.append(target.key)
                except GatewayError as e:
                    raise self._gateway_failure(e) from None
            self._logger.info(
                "Revoked the tokens of a deleted ServiceToken",
                servicetoken=str(ref),
                token_keys=revoked,
            )
            return revoked

    # Kubernetes ---------------------------------------------------------

    async def _read_own_secret(self, ref: ServiceTokenRef) -> SecretState | None:
        """The ServiceToken's Secret, refusing one that something else owns."""
        try:
            secret = await self._store.read_secret(ref.namespace, ref.name)
        except KubernetesError as e:
            raise self._kubernetes_failure(e) from None
        if secret is None:
            return None
        owners = secret.owner_uids(KIND)
        if (ref.name, ref.uid) in owners:
            return secret
        if any(name == ref.name for name, _ in owners):
            raise TemporaryTokenError(
                f"Secret {ref} still belongs to an earlier ServiceToken {ref.name};"
                " waiting for Kubernetes to delete it",
                "SecretConflict",
                RETRY_DELAY,
            )
        raise PermanentTokenError(
            f"Secret {ref} exists and is not owned by this ServiceToken; delete or"
            " rename it, or rename the ServiceToken",
            "SecretConflict",
        )

    async def _write_secret(
        self,
        ref: ServiceTokenRef,
        token: str,
        labels: dict[str, str],
        annotations: dict[str, str],
        existing: SecretState | None,
    ) -> None:
        try:
            await self._store.write_secret(
                ref,
                token=token,
                labels=labels,
                annotations=annotations,
                existing=existing,
            )
        except KubernetesError as e:
            raise self._kubernetes_failure(e) from None

    async def _write_status(self, ref: ServiceTokenRef, status: dict[str, Any]) -> None:
        try:
            await self._store.write_status(ref, status)
        except KubernetesError as e:
            raise self._kubernetes_failure(e) from None

    async def _report_failure(
        self,
        ref: ServiceTokenRef,
        current: Mapping[str, Any],
        error: ServiceTokenError,
        *,
        has_token: bool,
    ) -> None:
        """Put a failure in the Ready condition (and an event, when it is news).

        While the gateway is unavailable a token the Secret already holds is
        probably still good, so Ready becomes Unknown rather than False.
        """
        temporary = isinstance(error, TemporaryTokenError)
        value = ReadyStatus.UNKNOWN if temporary and has_token else ReadyStatus.FALSE
        readiness = Readiness(value, error.reason, str(error))
        new_status = updated_status(
            current, readiness=readiness, generation=ref.generation, now=self._clock()
        )
        if new_status == dict(current):
            return
        try:
            await self._store.write_status(ref, new_status)
        except KubernetesError as e:
            self._logger.warning(
                "Could not write the status", servicetoken=str(ref), error=str(e)
            )
        await self._store.post_event(
            ref, reason=error.reason, message=str(error), warning=True
        )

    # Errors -------------------------------------------------------------

    def _gateway_failure(self, error: GatewayError) -> ServiceTokenError:
        if isinstance(error, GatewayUnavailableError):
            return TemporaryTokenError(str(error), "GatewayUnavailable", RETRY_DELAY)
        if isinstance(error, GatewayRefusedError) and error.status_code == 0:
            return PermanentTokenError(str(error), "NotConfigured")
        return PermanentTokenError(str(error), "GatewayRefused")

    @staticmethod
    def _kubernetes_failure(error: KubernetesError) -> ServiceTokenError:
        if error.temporary:
            return TemporaryTokenError(str(error), "KubernetesError", RETRY_DELAY)
        return PermanentTokenError(str(error), "KubernetesError")
