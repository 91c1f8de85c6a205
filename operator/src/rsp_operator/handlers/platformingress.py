"""kopf handlers of ``PlatformIngress``: parse, reconcile, record the status.

Create, update and resume reconcile at once. A timer looks at each resource
every :data:`TIMER_TICK` seconds and reconciles it again when
``resync_seconds`` (of the settings) have passed since its last
reconciliation, so that an object someone edited or deleted (an auth
annotation removed, a rule changed) is put back without waiting for a change
of the resource.

The operator does not watch the Ingresses, HTTPRoutes and SecurityPolicies
it makes, which would put edits back at once: that needs ``watch`` on those
kinds in every watched namespace, and a watch stream per kind, including
the other flavour's (whose CRDs may be missing or forbidden). The timer
bounds how long an edit lasts with the ``get``/``list`` the RBAC already
grants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from .. import GROUP, VERSION
from ..ingress.factory import IngressFactory
from ..ingress.model import PLURAL
from ..ingress.resync import ResyncSchedule
from ..ingress.status import status_changes
from .memo import memo_entry

__all__ = [
    "TIMER_TICK",
    "forget_platform_ingress",
    "on_platform_ingress",
    "reconcile_platform_ingress",
    "resync_platform_ingress",
]

TIMER_TICK = 30.0
"""Seconds between the timer's looks at each resource (resyncs are rarer)."""


def _schedule(memo: Any) -> ResyncSchedule:
    return memo_entry(memo, "ingress_resync", ResyncSchedule, "PlatformIngress")


async def reconcile_platform_ingress(
    body: Mapping[str, Any],
    patch: kopf.Patch,
    memo: kopf.Memo,
    *,
    periodic: bool = False,
) -> None:
    """Reconcile one resource; its status goes into ``patch``.

    ``periodic`` is the timer's reconciliation: it does nothing if the
    resource was reconciled less than ``resync_seconds`` ago, posts events
    only about changes and leaves a permanent failure to the status.

    Raises
    ------
    kopf.PermanentError
        For a resource that only a change of its own can fix (kopf does not
        retry it).
    kopf.TemporaryError
        For a failure that may pass (API error, a name held by another
        object), with the delay before the retry.
    """
    factory: IngressFactory = memo["ingress_factory"]
    schedule = _schedule(memo)
    uid = str((body.get("metadata") or {}).get("uid") or "")
    async with schedule.lock(uid):
        if periodic and not schedule.due(uid):
            return
        service = factory.create_service()
        outcome = await service.reconcile_body(body, periodic=periodic)
        if outcome.error is None or outcome.permanent:
            schedule.done(uid)
    for key, value in status_changes(body.get("status"), outcome.status).items():
        patch.status[key] = value
    if outcome.error is None or (periodic and outcome.permanent):
        return
    if outcome.permanent:
        raise kopf.PermanentError(outcome.error)
    raise kopf.TemporaryError(outcome.error, delay=outcome.retry_after or 15.0)


@kopf.on.resume(group=GROUP, version=VERSION, plural=PLURAL)
@kopf.on.create(group=GROUP, version=VERSION, plural=PLURAL)
@kopf.on.update(group=GROUP, version=VERSION, plural=PLURAL)
async def on_platform_ingress(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    await reconcile_platform_ingress(body, patch, memo)


@kopf.timer(
    group=GROUP,
    version=VERSION,
    plural=PLURAL,
    interval=TIMER_TICK,
    initial_delay=TIMER_TICK,
)
async def resync_platform_ingress(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    metadata = body.get("metadata") or {}
    observed = (body.get("status") or {}).get("observedGeneration")
    if observed != metadata.get("generation"):
        # A new spec is the change handlers' (still at work, or retrying).
        return
    await reconcile_platform_ingress(body, patch, memo, periodic=True)


@kopf.on.delete(group=GROUP, version=VERSION, plural=PLURAL, optional=True)
async def forget_platform_ingress(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    # optional: no finalizer; Kubernetes deletes the objects with their owner.
    schedule = memo.get("ingress_resync")
    if isinstance(schedule, ResyncSchedule):
        schedule.forget(str(body.get("metadata", {}).get("uid") or ""))
