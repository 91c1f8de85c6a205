"""kopf handlers of ServiceTokens: thin calls into the token service.

Registered when the operator imports :mod:`rsp_operator.handlers`:

- start-up and clean-up of the ServiceToken resources (``memo["service_tokens"]``,
  a :class:`~rsp_operator.tokens.factory.ServiceTokenContext`);
- create, spec update and resume: reconcile at once;
- a timer every :data:`TIMER_TICK` seconds that reconciles each ServiceToken
  when its check is due (``token_check_interval`` of the settings, or sooner
  when the token reaches its rotation time);
- delete (with kopf's finalizer): revoke the tokens at the gateway; the
  Secret goes with its owner.

Failures become :class:`kopf.PermanentError` (retrying cannot help until the
resource or the configuration changes; the Ready condition says why) or
:class:`kopf.TemporaryError` with a delay (gateway or Kubernetes down).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from .. import GROUP, VERSION
from ..config import OperatorSettings, load_operator_settings
from ..tokens.errors import PermanentTokenError, TemporaryTokenError
from ..tokens.factory import ServiceTokenContext
from ..tokens.models import PLURAL, ServiceTokenRef, TokenOutcome
from .memo import memo_entry

__all__ = [
    "DELETE_BACKOFF",
    "DELETE_RETRIES",
    "TIMER_TICK",
    "check_service_token",
    "reconcile_service_token",
    "revoke_service_token",
    "start_service_tokens",
    "stop_service_tokens",
]

TIMER_TICK = 60.0
"""Seconds between the timer's looks at each ServiceToken (checks are rarer)."""

DELETE_RETRIES = 20
"""Attempts to revoke a deleted ServiceToken's token before letting it go."""

DELETE_BACKOFF = 30.0
"""Seconds between those attempts (about ten minutes in all)."""


def _context(memo: Any) -> ServiceTokenContext:
    return memo_entry(memo, "service_tokens", ServiceTokenContext, "ServiceToken")


async def _reconcile(context: ServiceTokenContext, body: Mapping[str, Any]) -> None:
    ref = ServiceTokenRef.from_body(body)
    outcome: TokenOutcome | None = None
    try:
        outcome = await context.create_service().reconcile(
            ref, body.get("spec") or {}, body.get("status") or {}
        )
    except PermanentTokenError as e:
        raise kopf.PermanentError(str(e)) from None
    except TemporaryTokenError as e:
        raise kopf.TemporaryError(str(e), delay=e.delay) from None
    finally:
        context.checked(ref.uid, outcome)


@kopf.on.startup()
async def start_service_tokens(memo: Any, **_: Any) -> None:
    # The CLI puts the validated settings in the memo; load them otherwise.
    settings = memo.get("settings")
    if not isinstance(settings, OperatorSettings):
        settings = load_operator_settings()
    memo["service_tokens"] = await ServiceTokenContext.create(settings)


@kopf.on.cleanup()
async def stop_service_tokens(memo: Any, **_: Any) -> None:
    context = memo.get("service_tokens")
    if isinstance(context, ServiceTokenContext):
        await context.aclose()


@kopf.on.create(group=GROUP, version=VERSION, plural=PLURAL)
@kopf.on.update(group=GROUP, version=VERSION, plural=PLURAL, field="spec")
@kopf.on.resume(group=GROUP, version=VERSION, plural=PLURAL)
async def reconcile_service_token(body: Any, memo: Any, **_: Any) -> None:
    await _reconcile(_context(memo), body)


@kopf.timer(
    group=GROUP,
    version=VERSION,
    plural=PLURAL,
    interval=TIMER_TICK,
    initial_delay=TIMER_TICK,
)
async def check_service_token(body: Any, memo: Any, **_: Any) -> None:
    context = _context(memo)
    if context.check_due(body["metadata"]["uid"]):
        await _reconcile(context, body)


@kopf.on.delete(
    group=GROUP,
    version=VERSION,
    plural=PLURAL,
    retries=DELETE_RETRIES,
    backoff=DELETE_BACKOFF,
)
async def revoke_service_token(body: Any, memo: Any, **_: Any) -> None:
    context = _context(memo)
    ref = ServiceTokenRef.from_body(body)
    try:
        await context.create_service().revoke(
            ref, body.get("spec") or {}, body.get("status") or {}
        )
    except PermanentTokenError as e:
        raise kopf.PermanentError(str(e)) from None
    except TemporaryTokenError as e:
        raise kopf.TemporaryError(str(e), delay=e.delay) from None
    context.forget(ref.uid)
