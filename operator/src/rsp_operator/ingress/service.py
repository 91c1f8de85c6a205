"""Reconciliation of a ``PlatformIngress`` with the objects it should have."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from rsp_platform.settings import ConfigurationError

from ..config import OperatorSettings
from .model import (
    MalformedResourceError,
    ObjectRef,
    PlatformIngress,
    parse_platform_ingress,
)
from .objects import SPEC_HASH_ANNOTATION
from .render import desired_objects, object_ref
from .status import build_status
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


def _digest(obj: Mapping[str, Any]) -> str | None:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    value = annotations.get(SPEC_HASH_ANNOTATION)
    return str(value) if value is not None else None


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

        An object whose digest annotation matches is left alone, so a second
        reconciliation of an unchanged resource writes nothing.

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
            if _digest(current) != _digest(obj):
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

    async def reconcile_body(self, body: Mapping[str, Any]) -> ReconcileOutcome:
        """Parse a resource as the API returns it, reconcile it, say how it went.

        Never raises for a bad resource or a failed API call: the outcome
        carries the status to record and whether a retry may help.
        """
        previous = body.get("status")
        metadata = body.get("metadata") or {}
        generation = int(metadata.get("generation") or 0)
        logger = self._logger.bind(
            namespace=metadata.get("namespace"), name=metadata.get("name")
        )

        def status(
            ready: bool, reason: str, message: str, objects: list[ObjectRef]
        ) -> dict[str, Any]:
            return build_status(
                ready=ready,
                reason=reason,
                message=message,
                generation=generation,
                objects=objects,
                previous=previous,
            )

        recorded = [
            ObjectRef(o.get("apiVersion", ""), o.get("kind", ""), o.get("name", ""))
            for o in (previous or {}).get("objects") or []
        ]
        try:
            resource = parse_platform_ingress(body)
        except MalformedResourceError as e:
            message = f"invalid PlatformIngress: {e}"
            logger.warning("Invalid PlatformIngress", problem=str(e))
            target = EventTarget.from_body(body)
            await self._events.post(target, "Warning", "InvalidSpec", message)
            return ReconcileOutcome(
                status=status(False, "InvalidSpec", message, recorded),
                error=message,
                permanent=True,
            )
        target = EventTarget.of(resource)
        try:
            result = await self.reconcile(resource)
        except MalformedResourceError as e:
            message = f"invalid PlatformIngress: {e}"
            await self._events.post(target, "Warning", "InvalidSpec", message)
            return ReconcileOutcome(
                status=status(False, "InvalidSpec", message, recorded),
                error=message,
                permanent=True,
            )
        except ConfigurationError as e:
            message = str(e).replace("\n ", "")
            await self._events.post(target, "Warning", "OperatorMisconfigured", message)
            return ReconcileOutcome(
                status=status(False, "OperatorMisconfigured", message, recorded),
                error=message,
                permanent=True,
            )
        except NameConflictError as e:
            await self._events.post(target, "Warning", "NameConflict", str(e))
            return ReconcileOutcome(
                status=status(False, "NameConflict", str(e), recorded),
                error=str(e),
                retry_after=CONFLICT_RETRY_SECONDS,
            )
        except KubernetesError as e:
            logger.warning("Reconciliation failed", error=str(e))
            await self._events.post(target, "Warning", "ReconcileFailed", str(e))
            return ReconcileOutcome(
                status=status(False, "KubernetesError", str(e), recorded),
                error=str(e),
                retry_after=API_RETRY_SECONDS,
            )
        if result.changed:
            logger.info("Reconciled PlatformIngress", changes=result.summary())
            await self._events.post(target, "Normal", "Reconciled", result.summary())
        flavour = self._settings.ingress_flavour.value
        message = f"{len(result.objects)} object(s) of flavour {flavour} in place"
        return ReconcileOutcome(
            status=status(True, "Reconciled", message, result.objects), result=result
        )
