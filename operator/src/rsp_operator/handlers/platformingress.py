"""kopf handlers of ``PlatformIngress``: parse, reconcile, record the status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from .. import GROUP, VERSION
from ..ingress.factory import IngressFactory
from ..ingress.model import PLURAL
from ..ingress.status import status_changes

__all__ = ["on_platform_ingress", "reconcile_platform_ingress"]


async def reconcile_platform_ingress(
    body: Mapping[str, Any], patch: kopf.Patch, memo: kopf.Memo
) -> None:
    """Reconcile one resource; its status goes into ``patch``.

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
    outcome = await factory.create_service().reconcile_body(body)
    for key, value in status_changes(body.get("status"), outcome.status).items():
        patch.status[key] = value
    if outcome.error is None:
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
