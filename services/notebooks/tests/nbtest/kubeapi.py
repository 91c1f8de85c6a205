"""A fake Kubernetes API server's state, spoken to over HTTP by the real client.

KubeSpawner's reflectors list pods and events with ``_preload_content=False``
and then watch them from the list's ``resourceVersion``; its start, poll and
stop only work against something that answers like an API server. This
server answers the part of the Kubernetes REST API the lab spawner uses
(pods, events, Secrets, ConfigMaps, PersistentVolumeClaims in ``v1``,
NetworkPolicies in ``networking.k8s.io/v1``) the way kube-apiserver does:

- JSON objects with server-set ``uid``, ``resourceVersion`` (one counter for
  every change, as etcd's revision) and ``creationTimestamp``; a Secret's
  ``stringData`` is folded into ``data``; list items carry no ``kind``;
- ``Status`` bodies with 404 ``NotFound``, 409 ``AlreadyExists`` or
  ``Conflict``, 400 ``BadRequest`` and 422 ``Invalid``;
- list with label and field selectors, watch (``watch=true``) from a
  ``resourceVersion`` (``0`` or none: the current objects first, as
  ``ADDED``), ended after ``timeoutSeconds``, ``410 Expired`` for a version
  older than the kept history (:meth:`FakeKubernetes.compact`);
- graceful pod deletion: ``deletionTimestamp`` and
  ``deletionGracePeriodSeconds`` set (``MODIFIED``) and the kubelet removes the
  pod; grace 0, an unscheduled or a finished pod goes at once (``DELETED``);
- RBAC: with rules (the chart's Role, :mod:`nbtest.chartrbac`) a call they
  do not grant is a 403 ``Forbidden``.

:mod:`nbtest.kubehttp` serves this state over HTTP; the kubelet and
scheduler are simulated by :mod:`nbtest.kubelet`, which reacts to pods
through the same store.

Why not safir's ``MockKubernetesApi``: it stands in for the API classes, so
a list with ``_preload_content=False`` returns a model where KubeSpawner
reads a raw HTTP response, each kind counts its own resource versions, and
stored objects are shared with the caller. Serving HTTP keeps the real
client's serialization, errors and watch parsing in the test.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from .kubeproto import ApiError, matches, parse_selectors, rfc3339

__all__ = ["RESOURCES", "FakeKubernetes", "Resource", "WatchEvent"]


@dataclass(frozen=True)
class Resource:
    """A kind the fake serves, with where its API lives."""

    plural: str
    kind: str
    group_version: str

    @property
    def api_version(self) -> str:
        """``apiVersion`` of its objects."""
        return self.group_version.removeprefix("core/")


RESOURCES: dict[str, Resource] = {
    r.plural: r
    for r in (
        Resource("pods", "Pod", "core/v1"),
        Resource("events", "Event", "core/v1"),
        Resource("secrets", "Secret", "core/v1"),
        Resource("configmaps", "ConfigMap", "core/v1"),
        Resource("persistentvolumeclaims", "PersistentVolumeClaim", "core/v1"),
        Resource("networkpolicies", "NetworkPolicy", "networking.k8s.io/v1"),
    )
}


@dataclass(frozen=True)
class WatchEvent:
    """One change of one object, as a watch delivers it."""

    revision: int
    resource: str
    type: str
    object: dict[str, Any]


@dataclass
class _Watcher:
    resource: str
    namespace: str
    queue: asyncio.Queue[WatchEvent] = field(default_factory=asyncio.Queue)


Hook = Callable[[str, dict[str, Any]], Awaitable[None] | None]


class FakeKubernetes:
    """The API server's state: objects, the change history and watchers.

    Parameters
    ----------
    namespaces
        Namespaces that exist (creating in another one is a 404).
    rules
        ``(apiGroup, resource, verb)`` the client's RBAC grants over HTTP;
        None grants everything.
    user
        Who the client is, for the 403 messages.
    """

    def __init__(
        self,
        namespaces: set[str],
        rules: frozenset[tuple[str, str, str]] | None = None,
        user: str = "system:serviceaccount:default:default",
    ) -> None:
        self.namespaces = set(namespaces)
        self.rules = rules
        self.user = user
        self.revision = 1000
        self.requests: list[tuple[str, str]] = []
        self.received: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._history: list[WatchEvent] = []
        self._oldest = self.revision
        self._watchers: list[_Watcher] = []
        self._hooks: list[Hook] = []

    # State, as tests and the kubelet see it.

    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(type, object)`` after every change (the kubelet's eyes)."""
        self._hooks.append(hook)

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A stored object (a copy), or None."""
        obj = self._objects.get((resource, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def names(self, resource: str, namespace: str) -> list[str]:
        """Names of the stored objects of a kind."""
        return sorted(
            n for r, ns, n in self._objects if r == resource and ns == namespace
        )

    def objects(self, resource: str, namespace: str) -> Iterator[dict[str, Any]]:
        """Copies of the stored objects of a kind, by name."""
        for name in self.names(resource, namespace):
            yield copy.deepcopy(self._objects[(resource, namespace, name)])

    def compact(self) -> None:
        """Forget the change history, as etcd compaction does (watches: 410)."""
        self._history.clear()
        self._oldest = self.revision

    # The API's operations.

    def list_objects(
        self,
        resource: str,
        namespace: str,
        label_selector: str = "",
        field_selector: str = "",
    ) -> dict[str, Any]:
        """A ``<Kind>List`` of the matching objects, at the current revision."""
        labels, fields = parse_selectors(label_selector, field_selector)
        kind = RESOURCES[resource]
        items = []
        for obj in self.objects(resource, namespace):
            if matches(obj, labels, fields):
                del obj["kind"], obj["apiVersion"]
                items.append(obj)
        return {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": str(self.revision)},
            "items": items,
        }

    def read(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        """One object; 404 if there is none."""
        obj = self.get(resource, namespace, name)
        if obj is None:
            raise ApiError.not_found(resource, name)
        return obj

    async def create(
        self, resource: str, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Store a new object; 409 if the name is taken."""
        kind = RESOURCES[resource]
        obj = self._admit(kind, namespace, body)
        name = obj["metadata"]["name"]
        self.received[(resource, namespace, name)] = copy.deepcopy(body)
        if namespace not in self.namespaces:
            raise ApiError.not_found("namespaces", namespace)
        if (resource, namespace, name) in self._objects:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{resource} "{name}" already exists',
                {"name": name, "kind": resource},
            )
        obj["metadata"]["uid"] = str(uuid.uuid4())
        obj["metadata"]["creationTimestamp"] = rfc3339()
        if resource == "pods":
            obj["spec"].setdefault("terminationGracePeriodSeconds", 30)
            obj["spec"].setdefault("restartPolicy", "Always")
            obj["status"] = {"phase": "Pending", "qosClass": _qos_class(obj)}
        elif resource == "persistentvolumeclaims":
            obj["status"] = {"phase": "Pending"}
        return await self._commit("ADDED", resource, obj)

    async def replace(
        self, resource: str, namespace: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Replace an object; 404 if missing, 409 on a stale resourceVersion."""
        kind = RESOURCES[resource]
        obj = self._admit(kind, namespace, body)
        if obj["metadata"]["name"] != name:
            raise ApiError(
                400, "BadRequest", "the name of the object does not match", None
            )
        current = self.read(resource, namespace, name)
        version = obj["metadata"].get("resourceVersion")
        if version and version != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {resource} "{name}": the object'
                " has been modified; please apply your changes to the latest version"
                " and try again",
                {"name": name, "kind": resource},
            )
        for key in ("uid", "creationTimestamp", "deletionTimestamp"):
            if key in current["metadata"]:
                obj["metadata"][key] = current["metadata"][key]
        if "status" in current:
            obj["status"] = current["status"]
        self.received[(resource, namespace, name)] = copy.deepcopy(body)
        return await self._commit("MODIFIED", resource, obj)

    async def update_status(
        self, resource: str, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any]:
        """Set an object's status (what the kubelet and controllers do)."""
        obj = self.read(resource, namespace, name)
        obj["status"] = status
        return await self._commit("MODIFIED", resource, obj)

    async def update_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a changed object (server side: spec.nodeName of a binding)."""
        resource = {r.kind: r.plural for r in RESOURCES.values()}[obj["kind"]]
        self.read(resource, obj["metadata"]["namespace"], obj["metadata"]["name"])
        return await self._commit("MODIFIED", resource, copy.deepcopy(obj))

    async def delete(
        self,
        resource: str,
        namespace: str,
        name: str,
        grace_period_seconds: int | None = None,
    ) -> dict[str, Any]:
        """Delete an object: pods gracefully, everything else at once."""
        obj = self.read(resource, namespace, name)
        if resource != "pods":
            await self._remove(resource, obj)
            return {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": name,
                    "kind": resource,
                    "uid": obj["metadata"]["uid"],
                },
            }
        grace = grace_period_seconds
        if grace is None:
            grace = int(obj["spec"]["terminationGracePeriodSeconds"])
        if not obj["spec"].get("nodeName") or obj["status"]["phase"] in (
            "Succeeded",
            "Failed",
        ):
            grace = 0
        metadata = obj["metadata"]
        if "deletionTimestamp" in metadata:
            # Deleting again may only shorten the grace period.
            grace = min(grace, int(metadata["deletionGracePeriodSeconds"]))
        metadata["deletionTimestamp"] = rfc3339(time.time() + grace)
        metadata["deletionGracePeriodSeconds"] = grace
        if grace == 0:
            await self._remove(resource, obj)
            return obj
        return await self._commit("MODIFIED", resource, obj)

    async def remove(self, resource: str, namespace: str, name: str) -> None:
        """Remove an object for good (the kubelet, once a pod has stopped)."""
        obj = self.get(resource, namespace, name)
        if obj is not None:
            await self._remove(resource, obj)

    # Watches.

    @asynccontextmanager
    async def watch(
        self, resource: str, namespace: str, resource_version: str | None
    ) -> Any:
        """Yield a queue of the changes after ``resource_version``.

        Raises
        ------
        ApiError
            410 if that version is older than the kept history.
        """
        watcher = _Watcher(resource, namespace)
        if resource_version in (None, "", "0"):
            for obj in self.objects(resource, namespace):
                version = int(obj["metadata"]["resourceVersion"])
                watcher.queue.put_nowait(WatchEvent(version, resource, "ADDED", obj))
        else:
            start = int(resource_version)
            if start < self._oldest:
                raise ApiError(
                    410,
                    "Expired",
                    f"too old resource version: {start} ({self._oldest})",
                    None,
                )
            for event in self._history:
                if (
                    event.revision > start
                    and event.resource == resource
                    and event.object["metadata"]["namespace"] == namespace
                ):
                    watcher.queue.put_nowait(event)
        self._watchers.append(watcher)
        try:
            yield watcher.queue
        finally:
            self._watchers.remove(watcher)

    # Internals.

    def _admit(
        self, kind: Resource, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        for key, expected in (("kind", kind.kind), ("apiVersion", kind.api_version)):
            if obj.get(key, expected) != expected:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"{key} {obj[key]!r} does not match the expected {expected!r}",
                    None,
                )
            obj[key] = expected
        metadata = obj.setdefault("metadata", {})
        if metadata.get("namespace", namespace) != namespace:
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace"
                " sent on the request",
                None,
            )
        metadata["namespace"] = namespace
        if not metadata.get("name"):
            raise ApiError(
                422,
                "Invalid",
                f'{kind.kind} "" is invalid: metadata.name: Required value: name or'
                " generateName is required",
                {"kind": kind.kind, "causes": [{"field": "metadata.name"}]},
            )
        if kind.kind == "Secret" and "stringData" in obj:
            data = obj.setdefault("data", {})
            for key, value in obj.pop("stringData").items():
                data[key] = base64.b64encode(value.encode()).decode()
        obj.pop("status", None)
        return obj

    async def _commit(
        self, event_type: str, resource: str, obj: dict[str, Any]
    ) -> dict[str, Any]:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        key = (resource, obj["metadata"]["namespace"], obj["metadata"]["name"])
        self._objects[key] = obj
        await self._publish(event_type, resource, obj)
        return copy.deepcopy(obj)

    async def _remove(self, resource: str, obj: dict[str, Any]) -> None:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        del self._objects[
            (resource, obj["metadata"]["namespace"], obj["metadata"]["name"])
        ]
        await self._publish("DELETED", resource, obj)

    async def _publish(
        self, event_type: str, resource: str, obj: dict[str, Any]
    ) -> None:
        event = WatchEvent(self.revision, resource, event_type, copy.deepcopy(obj))
        self._history.append(event)
        for watcher in self._watchers:
            if (
                watcher.resource == resource
                and watcher.namespace == obj["metadata"]["namespace"]
            ):
                watcher.queue.put_nowait(event)
        for hook in list(self._hooks):
            result = hook(event_type, copy.deepcopy(obj))
            if result is not None:
                await result


def _qos_class(pod: dict[str, Any]) -> str:
    containers = pod["spec"]["containers"]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        if set(limits) != {"cpu", "memory"} or any(
            requests.get(k, limits[k]) != limits[k] for k in limits
        ):
            return "Burstable"
    return "Guaranteed"
