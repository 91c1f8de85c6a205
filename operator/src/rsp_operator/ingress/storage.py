"""The ingress objects in Kubernetes: list, create, replace, delete, events.

``Ingress`` goes through the typed ``NetworkingV1Api``; Gateway API and
Envoy Gateway objects through ``CustomObjectsApi``. Objects travel as plain
dictionaries (camelCase, as in YAML) between here and the services.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiException

from .. import GROUP, VERSION
from .model import KIND, ObjectRef, PlatformIngress
from .objects import OWNER_UID_LABEL

__all__ = [
    "KINDS",
    "EventRecorder",
    "EventTarget",
    "IngressObjectStore",
    "KubernetesError",
    "ObjectKind",
    "owner_uid_of",
]


class KubernetesError(RuntimeError):
    """The Kubernetes API refused or failed a call; says which and why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ObjectKind:
    """A kind of object the operator makes."""

    api_version: str
    kind: str
    plural: str

    @property
    def group(self) -> str:
        """API group (empty for the core group)."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        """API version within the group."""
        return self.api_version.rpartition("/")[2]

    @property
    def typed(self) -> bool:
        """Whether the typed ``NetworkingV1Api`` serves it."""
        return self.kind == "Ingress"


KINDS: tuple[ObjectKind, ...] = (
    ObjectKind("networking.k8s.io/v1", "Ingress", "ingresses"),
    ObjectKind("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes"),
    ObjectKind("gateway.envoyproxy.io/v1alpha1", "SecurityPolicy", "securitypolicies"),
)
"""Every kind the operator may have made, whatever the flavour is now."""


def _kind(ref: ObjectRef) -> ObjectKind:
    for kind in KINDS:
        if kind.kind == ref.kind and kind.api_version == ref.api_version:
            return kind
    raise KubernetesError(f"the operator does not make {ref.kind} ({ref.api_version})")


class _Response:
    """What ``ApiClient.deserialize`` reads: a response with JSON ``data``."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = json.dumps(data)


def _error(
    action: str, ref: ObjectRef | ObjectKind, e: ApiException
) -> KubernetesError:
    what = f"{ref.kind}/{ref.name}" if isinstance(ref, ObjectRef) else ref.kind
    if e.status == 404 and isinstance(ref, ObjectRef):
        message = (
            f"cannot {action} {what}: the cluster serves no {ref.kind}"
            f" ({ref.api_version}); is its CRD installed?"
        )
    else:
        message = f"cannot {action} {what}: {e.status} {e.reason}"
    return KubernetesError(message, e.status)


class IngressObjectStore:
    """The objects made for ``PlatformIngress`` resources, in Kubernetes."""

    def __init__(
        self,
        api_client: client.ApiClient,
        networking: client.NetworkingV1Api,
        custom: client.CustomObjectsApi,
    ) -> None:
        self._api_client = api_client
        self._networking = networking
        self._custom = custom

    def _to_dict(self, obj: Any) -> dict[str, Any]:
        if isinstance(obj, dict):
            return copy.deepcopy(obj)
        data: dict[str, Any] = self._api_client.sanitize_for_serialization(obj)
        return data

    def _to_ingress(self, obj: dict[str, Any]) -> client.V1Ingress:
        response: Any = _Response(obj)
        ingress: client.V1Ingress = self._api_client.deserialize(response, "V1Ingress")
        return ingress

    async def list_owned(
        self, namespace: str, owner_uid: str, *, needed: Collection[str] = ()
    ) -> list[dict[str, Any]]:
        """Every object of :data:`KINDS` labelled as made for the owner.

        Kinds the cluster does not serve (no Gateway API CRDs) have none. So
        have kinds the operator may not list, unless they are ``needed`` (the
        kinds of the current flavour): an ingress-nginx cluster need not grant
        the operator Gateway API kinds, nor the other way round.
        """
        selector = f"{OWNER_UID_LABEL}={owner_uid}"
        found: list[dict[str, Any]] = []
        for kind in KINDS:
            try:
                if kind.typed:
                    listing = await self._networking.list_namespaced_ingress(
                        namespace, label_selector=selector
                    )
                    items = [self._to_dict(i) for i in listing.items]
                    for item in items:
                        item.setdefault("apiVersion", kind.api_version)
                        item.setdefault("kind", kind.kind)
                else:
                    answer = await self._custom.list_namespaced_custom_object(
                        kind.group,
                        kind.version,
                        namespace,
                        kind.plural,
                        label_selector=selector,
                    )
                    items = [self._to_dict(i) for i in answer["items"]]
            except ApiException as e:
                if e.status == 404 or (e.status == 403 and kind.kind not in needed):
                    continue
                raise _error("list", kind, e) from e
            found.extend(i for i in items if _owned_by(i, owner_uid))
        return found

    async def read(self, ref: ObjectRef, namespace: str) -> dict[str, Any] | None:
        """The object, or ``None`` if there is none."""
        kind = _kind(ref)
        try:
            if kind.typed:
                obj = await self._networking.read_namespaced_ingress(
                    ref.name, namespace
                )
            else:
                obj = await self._custom.get_namespaced_custom_object(
                    kind.group, kind.version, namespace, kind.plural, ref.name
                )
        except ApiException as e:
            if e.status == 404:
                return None
            raise _error("read", ref, e) from e
        return self._to_dict(obj)

    async def create(self, obj: dict[str, Any]) -> None:
        """Create the object in its namespace.

        Raises
        ------
        KubernetesError
            With status 409 if an object of that name exists.
        """
        ref, kind, namespace = _describe(obj)
        body = copy.deepcopy(obj)
        try:
            if kind.typed:
                await self._networking.create_namespaced_ingress(
                    namespace, self._to_ingress(body)
                )
            else:
                await self._custom.create_namespaced_custom_object(
                    kind.group, kind.version, namespace, kind.plural, body
                )
        except ApiException as e:
            raise _error("create", ref, e) from e

    async def replace(self, obj: dict[str, Any], resource_version: str | None) -> None:
        """Replace the object (optimistically, if a resource version is given)."""
        ref, kind, namespace = _describe(obj)
        body = copy.deepcopy(obj)
        if resource_version:
            body["metadata"]["resourceVersion"] = resource_version
        try:
            if kind.typed:
                await self._networking.replace_namespaced_ingress(
                    ref.name, namespace, self._to_ingress(body)
                )
            else:
                await self._custom.replace_namespaced_custom_object(
                    kind.group, kind.version, namespace, kind.plural, ref.name, body
                )
        except ApiException as e:
            raise _error("replace", ref, e) from e

    async def delete(self, ref: ObjectRef, namespace: str) -> None:
        """Delete the object; one already gone is fine."""
        kind = _kind(ref)
        try:
            if kind.typed:
                await self._networking.delete_namespaced_ingress(ref.name, namespace)
            else:
                await self._custom.delete_namespaced_custom_object(
                    kind.group, kind.version, namespace, kind.plural, ref.name
                )
        except ApiException as e:
            if e.status != 404:
                raise _error("delete", ref, e) from e


def _describe(obj: dict[str, Any]) -> tuple[ObjectRef, ObjectKind, str]:
    ref = ObjectRef(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])
    return ref, _kind(ref), obj["metadata"]["namespace"]


def _owned_by(obj: dict[str, Any], owner_uid: str) -> bool:
    """Whether the object names the resource as its controlling owner."""
    owners = obj.get("metadata", {}).get("ownerReferences") or []
    return any(o.get("uid") == owner_uid and o.get("kind") == KIND for o in owners)


def owner_uid_of(obj: dict[str, Any]) -> str | None:
    """The uid of the ``PlatformIngress`` controlling an object, if any."""
    for owner in obj.get("metadata", {}).get("ownerReferences") or []:
        if owner.get("kind") == KIND and owner.get("controller"):
            return str(owner.get("uid"))
    return None


@dataclass(frozen=True, slots=True)
class EventTarget:
    """The ``PlatformIngress`` an event is about."""

    name: str
    namespace: str
    uid: str

    @classmethod
    def of(cls, resource: PlatformIngress) -> EventTarget:
        """The target for a parsed resource."""
        return cls(resource.name, resource.namespace, resource.uid)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> EventTarget:
        """The target for a resource as the API returns it (even malformed)."""
        metadata = body.get("metadata") or {}
        return cls(
            str(metadata.get("name") or ""),
            str(metadata.get("namespace") or "default"),
            str(metadata.get("uid") or ""),
        )


class EventRecorder:
    """Kubernetes events about ``PlatformIngress`` resources."""

    def __init__(self, core: client.CoreV1Api) -> None:
        self._core = core

    async def post(
        self, resource: EventTarget, event_type: str, reason: str, message: str
    ) -> None:
        """Post an event on the resource; a refused event is not an error."""
        now = datetime.now(UTC)
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                generate_name=f"{resource.name[:200]}.", namespace=resource.namespace
            ),
            involved_object=client.V1ObjectReference(
                api_version=f"{GROUP}/{VERSION}",
                kind=KIND,
                name=resource.name,
                namespace=resource.namespace,
                uid=resource.uid,
            ),
            type=event_type,
            reason=reason,
            message=message[:1024],
            first_timestamp=now,
            last_timestamp=now,
            count=1,
            source=client.V1EventSource(component="rsp-operator"),
            reporting_component="science-platform.dev/rsp-operator",
            reporting_instance="rsp-operator",
        )
        try:
            await self._core.create_namespaced_event(resource.namespace, event)
        except ApiException:
            return
