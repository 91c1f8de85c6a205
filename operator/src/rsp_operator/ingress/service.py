"""Reconciliation of a ``PlatformIngress`` with the objects it should have."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from rsp_platform.settings import ConfigurationError

from ..config import OperatorSettings
from .drift import drift
from .model import (
    MalformedResourceError,
    ObjectRef,
    PlatformIngress,
    parse_platform_ingress,
)
from .render import desired_objects, object_ref
from .status import build_status, status_changes
from .storage import (
    EventRecorder,
    EventTarget,
    IngressObjectStore,
    KubernetesError,
    owner_uid_of,
)

__all__ = [
    "NameConflictError",
    "PlatformIngressService",
    "ReconcileOutcome",
    "ReconcileResult",
]

CONFLICT_RETRY_SECONDS = 60.0
"""How long to wait before trying again when another object holds a name."""

API_RETRY_SECONDS = 15.0
"""How long to wait before trying again after a failed API call."""


class NameConflictError(RuntimeError):
    """An object the resource needs exists and belongs to something else."""


@dataclass
class ReconcileResult:
    """What one reconciliation did."""

    objects: list[ObjectRef] = field(default_factory=list)
    created: list[ObjectRef] = field(default_factory=list)
    replaced: list[ObjectRef] = field(default_factory=list)
    deleted: list[ObjectRef] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return bool(self.created or self.replaced or self.deleted)

    def summary(self) -> str:
        """One line listing what changed."""
        parts = [
            f"{verb} {', '.join(f'{r.kind}/{r.name}' for r in refs)}"
            for verb, refs in (
                ("created", self.created),
                ("replaced", self.replaced),
                ("deleted", self.deleted),
            )
            if refs
        ]
        return "; ".join(parts) or "nothing to change"


@dataclass
class ReconcileOutcome:
    """The status to record and, on failure, whether retrying can help."""

    status: dict[str, Any]
    result: ReconcileResult | None = None
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None


class PlatformIngressService:
    """Keeps each ``PlatformIngress``'s ingress objects as its spec says."""

    def __init__(
        self,
        settings: OperatorSettings,
        store: IngressObjectStore,
        events: EventRecorder,
        logger: structlog.stdlib.BoundLogger | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._events = events
        self._logger = logger or structlog.get_logger("rsp_operator.ingress")

    async def reconcile(self, resource: PlatformIngress) -> ReconcileResult:
        """Create, replace and delete objects until they are the desired ones.

        An object that still holds everything the operator wrote (see
        :mod:`.drift`; what the API server or others add does not count) is
        left alone, so a second reconciliation of an unchanged resource
        writes nothing. One edited by someone else is replaced.

        Raises
        ------
        NameConflictError
            If a needed name is taken by an object this resource does not own.
        KubernetesError
            If the API fails.
        """
        desired = desired_objects(resource, self._settings)
        needed = {o["kind"] for o in desired}
        owned = await self._store.list_owned(
            resource.namespace, resource.uid, needed=needed
        )
        existing = {object_ref(o): o for o in owned}
        result = ReconcileResult()
        for obj in desired:
            ref = object_ref(obj)
            result.objects.append(ref)
            current = existing.pop(ref, None)
            if current is None:
                current = await self._create(resource, obj, ref)
                if current is None:
                    result.created.append(ref)
                    continue
            where = drift(current, obj)
            if where is not None:
                self._logger.info(
                    "Replacing an object that differs from the desired one",
                    namespace=resource.namespace,
                    object=f"{ref.kind}/{ref.name}",
                    field=where,
                )
                version = current.get("metadata", {}).get("resourceVersion")
                await self._store.replace(obj, version)
                result.replaced.append(ref)
        for ref in existing:
            await self._store.delete(ref, resource.namespace)
            result.deleted.append(ref)
        return result

    async def _create(
        self, resource: PlatformIngress, obj: dict[str, Any], ref: ObjectRef
    ) -> dict[str, Any] | None:
        """Create the object; if the name is taken by one of ours, return it."""
        try:
            await self._store.create(obj)
        except KubernetesError as e:
            if e.status != 409:
                raise
        else:
            return None
        current = await self._store.read(ref, resource.namespace)
        if current is None:
            raise KubernetesError(f"{ref.kind}/{ref.name} exists and does not", 409)
        owner = owner_uid_of(current)
        if owner != resource.uid:
            whose = (
                f"PlatformIngress uid {owner}" if owner else "nothing of the operator"
            )
            raise NameConflictError(
                f"{ref.kind}/{ref.name} already exists and belongs to {whose};"
                " rename this PlatformIngress or delete that object"
            )
        return current

    async def reconcile_body(
        self, body: Mapping[str, Any], *, periodic: bool = False
    ) -> ReconcileOutcome:
        """Parse a resource as the API returns it, reconcile it, say how it went.

        Never raises for a bad resource or a failed API call: the outcome
        carries the status to record and whether a retry may help.

        A ``periodic`` reconciliation (the resync timer's, with no change of
        the resource) posts an event only when it changes something: objects
        put back as the resource wants them (``DriftCorrected``), or a
        ``Ready`` condition that becomes different. Repeating the same
        failure every period would only bury the first event.
        """
        previous = body.get("status")
        metadata = body.get("metadata") or {}
        generation = int(metadata.get("generation") or 0)
        logger = self._logger.bind(
            namespace=metadata.get("namespace"), name=metadata.get("name")
        )
        target = EventTarget.from_body(body)
        recorded = [
            ObjectRef(o.get("apiVersion", ""), o.get("kind", ""), o.get("name", ""))
            for o in (previous or {}).get("objects") or []
        ]

        def failed(
            reason: str,
            message: str,
            *,
            retry_after: float | None = None,
            event_reason: str | None = None,
        ) -> tuple[ReconcileOutcome, tuple[str, str, str]]:
            status = build_status(
                ready=False,
                reason=reason,
                message=message,
                generation=generation,
                objects=recorded,
                previous=previous,
            )
            outcome = ReconcileOutcome(
                status=status,
                error=message,
                permanent=retry_after is None,
                retry_after=retry_after,
            )
            return outcome, ("Warning", event_reason or reason, message)

        event: tuple[str, str, str] | None
        try:
            resource = parse_platform_ingress(body)
            target = EventTarget.of(resource)
            result = await self.reconcile(resource)
        except MalformedResourceError as e:
            message = f"invalid PlatformIngress: {e}"
            logger.warning("Invalid PlatformIngress", problem=str(e))
            outcome, event = failed("InvalidSpec", message)
        except ConfigurationError as e:
            message = str(e).replace("\n ", "")
            outcome, event = failed("OperatorMisconfigured", message)
        except NameConflictError as e:
            outcome, event = failed(
                "NameConflict", str(e), retry_after=CONFLICT_RETRY_SECONDS
            )
        except KubernetesError as e:
            logger.warning("Reconciliation failed", error=str(e))
            outcome, event = failed(
                "KubernetesError",
                str(e),
                retry_after=API_RETRY_SECONDS,
                event_reason="ReconcileFailed",
            )
        else:
            outcome, event = self._succeeded(
                result, generation, previous, periodic=periodic, logger=logger
            )
        if event is not None and (
            not periodic
            or outcome.error is None
            or status_changes(previous, outcome.status)
        ):
            await self._events.post(target, *event)
        return outcome

    def _succeeded(
        self,
        result: ReconcileResult,
        generation: int,
        previous: Mapping[str, Any] | None,
        *,
        periodic: bool,
        logger: structlog.stdlib.BoundLogger,
    ) -> tuple[ReconcileOutcome, tuple[str, str, str] | None]:
        """The outcome of a reconciliation that worked, and its event if any."""
        flavour = self._settings.ingress_flavour.value
        message = f"{len(result.objects)} object(s) of flavour {flavour} in place"
        status = build_status(
            ready=True,
            reason="Reconciled",
            message=message,
            generation=generation,
            objects=result.objects,
            previous=previous,
        )
        outcome = ReconcileOutcome(status=status, result=result)
        if not result.changed:
            return outcome, None
        if periodic:
            # Nothing about the resource changed: someone edited or deleted
            # what the operator made (perhaps an access rule).
            logger.warning("Put back edited objects", changes=result.summary())
            return outcome, ("Warning", "DriftCorrected", result.summary())
        logger.info("Reconciled PlatformIngress", changes=result.summary())
        return outcome, ("Normal", "Reconciled", result.summary())
