"""When a ServiceToken's Secret needs a new token, and which old ones to revoke.

Pure functions of the spec, the status, what the Secret holds and what the
gateway says of it; the service only sequences the calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..gateway import TokenInfo
from ..gateway.models import SERVICE
from .kubernetes import SecretState
from .models import ServiceTokenSpec, TokenAction
from .status import PendingRevocation, format_time

__all__ = ["LIFETIME_SLACK", "Decision", "decide", "misfit", "replaced_tokens"]

LIFETIME_SLACK = timedelta(minutes=5)
"""How much longer than ``lifetime`` a token may live before it is replaced
(the operator's and the gateway's clocks differ a little)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The Secret needs a new token: what kind of change, and why."""

    action: TokenAction
    reason: str


def decide(
    spec: ServiceTokenSpec,
    *,
    status: Mapping[str, Any],
    secret: SecretState | None,
    token: str | None,
    info: TokenInfo | None,
    now: datetime,
) -> Decision | None:
    """Whether (and why) the Secret needs a new token; `None` if it does not.

    Parameters
    ----------
    spec
        The ServiceToken's spec.
    status
        Its current status (a ``tokenKey`` there means a token was made before).
    secret
        Its Secret, if there is one.
    token
        The token the Secret holds, if any.
    info
        What the gateway says of ``token`` (`None`: refused, or no token).
    now
        The current time.
    """
    first = not status.get("tokenKey")
    if secret is None:
        if first:
            return Decision(TokenAction.CREATED, "new ServiceToken")
        return Decision(TokenAction.REPLACED, "the Secret was deleted")
    if token is None:
        action = TokenAction.CREATED if first else TokenAction.REPLACED
        return Decision(action, "the Secret holds no token")
    if info is None:
        return Decision(
            TokenAction.REPLACED, "the gateway refuses the token (revoked or expired)"
        )
    return misfit(spec, info, now)


def misfit(spec: ServiceTokenSpec, info: TokenInfo, now: datetime) -> Decision | None:
    """Why a valid token no longer fits the spec or is due for rotation, if so."""
    replaced = TokenAction.REPLACED
    if info.token_type != SERVICE:
        return Decision(replaced, f"the token is a {info.token_type} token")
    if info.username != spec.username:
        return Decision(replaced, f"the user changed from {info.username}")
    if sorted(set(info.scopes)) != spec.scopes:
        had = ", ".join(sorted(info.scopes)) or "none"
        return Decision(replaced, f"the scopes changed (the token had {had})")
    return _expiry_misfit(spec, info, now)


def _expiry_misfit(
    spec: ServiceTokenSpec, info: TokenInfo, now: datetime
) -> Decision | None:
    """Why a valid token's expiry no longer fits the lifetime, if so."""
    replaced = TokenAction.REPLACED
    if spec.lifetime is None:
        if info.expires is not None:
            return Decision(replaced, "the lifetime was removed")
        return None
    if info.expires is None:
        return Decision(replaced, "a lifetime was set")
    if info.expires > now + spec.lifetime + LIFETIME_SLACK:
        return Decision(replaced, "the lifetime was shortened")
    margin = spec.rotation_margin
    assert margin is not None
    if now >= info.expires - margin:
        return Decision(
            TokenAction.ROTATED, f"the token expires at {format_time(info.expires)}"
        )
    return None


def replaced_tokens(
    spec: ServiceTokenSpec,
    status: Mapping[str, Any],
    info: TokenInfo | None,
    new_key: str,
) -> list[PendingRevocation]:
    """The tokens a new one replaces, to revoke once the Secret holds the new one."""
    if info is not None:
        return [PendingRevocation(username=info.username, key=info.key)]
    # The Secret lost its token (deleted, edited): the last one the status
    # named may still be valid.
    old_key = status.get("tokenKey")
    if isinstance(old_key, str) and old_key and old_key != new_key:
        return [PendingRevocation(username=spec.username, key=old_key)]
    return []
