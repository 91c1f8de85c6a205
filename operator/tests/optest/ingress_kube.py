"""Kubernetes for the PlatformIngress tests: Safir's mock, made to fit.

:class:`IngressKubernetes` is :class:`safir.testing.kubernetes.MockKubernetesApi`
with what the operator uses and the mock lacks, behaving as the API server
does: ``replace_namespaced_ingress``, label selectors on custom objects
(the mock reads ``.metadata`` of dictionaries), a 409 for a replacement
carrying a stale ``resourceVersion``, and a 404 for kinds whose CRD is "not
installed". Every call is recorded, so that a test can count writes.

:func:`ingress_kubernetes` patches it into ``kubernetes_asyncio``'s API
classes, so that the operator's own factory and storage run unchanged.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import Mock, patch

from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiException, V1Ingress, V1Status
from safir.testing.kubernetes import MockKubernetesApi

__all__ = ["EVENT_METHOD", "IngressKubernetes", "ingress_kubernetes"]

EVENT_METHOD = "create_namespaced_event"
_READS = ("read_", "get_", "list_")


def _matches(labels: dict[str, str] | None, selector: str | None) -> bool:
    if not selector:
        return True
    wanted = dict(
        part.split("=", 1) for part in re.sub("==", "=", selector).split(",") if part
    )
    return all((labels or {}).get(k) == v for k, v in wanted.items())


class IngressKubernetes(MockKubernetesApi):
    """Safir's mock with the calls and behaviour the PlatformIngress code needs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.missing_groups: set[str] = set()
        """API groups answering 404, as when their CRDs are not installed."""
        self.forbidden_groups: set[str] = set()
        """API groups answering 403, as when RBAC grants the operator nothing."""
        self.error_callback = self._record

    def _record(self, method: str, *args: Any) -> None:
        self.calls.append(method)
        group = args[0] if args and isinstance(args[0], str) else None
        if "custom_object" in method and group in self.missing_groups:
            raise ApiException(status=404, reason="the server could not find it")
        if "custom_object" in method and group in self.forbidden_groups:
            raise ApiException(status=403, reason="Forbidden")

    def writes(self, *, events: bool = False) -> list[str]:
        """The calls that changed something (events only if asked)."""
        return [
            c
            for c in self.calls
            if not c.startswith(_READS) and (events or c != EVENT_METHOD)
        ]

    def clear_calls(self) -> None:
        """Forget the calls so far."""
        self.calls.clear()

    def event_reasons(self, namespace: str) -> list[str]:
        """Reasons of the events posted in a namespace, oldest first."""
        return [str(e.reason) for e in self._events[namespace]]

    def objects(self, kind: str, namespace: str) -> dict[str, Any]:
        """Objects of a kind in a namespace by name (Ingress as V1Ingress)."""
        return {
            (o["metadata"]["name"] if isinstance(o, dict) else o.metadata.name): o
            for o in self.get_all_objects_for_test(kind)
            if (o["metadata"] if isinstance(o, dict) else o.metadata.to_dict())[
                "namespace"
            ]
            == namespace
        }

    async def replace_namespaced_ingress(
        self,
        name: str,
        namespace: str,
        body: V1Ingress,
        *,
        _request_timeout: float | None = None,
    ) -> V1Ingress:
        """Replace an Ingress; a stale ``resourceVersion`` is a conflict."""
        self._maybe_error("replace_namespaced_ingress", name, namespace, body)
        self._update_metadata(body, "networking.k8s.io/v1", "Ingress", namespace)
        current = self._get_object(namespace, "Ingress", name)
        wanted = body.metadata.resource_version
        if wanted and wanted != current.metadata.resource_version:
            raise ApiException(status=409, reason="the object has been modified")
        body.status = current.status
        await self._store_object(namespace, "Ingress", name, body, replace=True)
        return body

    async def replace_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        name: str,
        body: dict[str, Any],
        *,
        _request_timeout: float | None = None,
    ) -> None:
        """Replace a custom object; a stale ``resourceVersion`` is a conflict."""
        current = self._get_object(namespace, f"{group}/{version}/{plural}", name)
        wanted = body["metadata"].get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            self._maybe_error("replace_namespaced_custom_object", group)
            raise ApiException(status=409, reason="the object has been modified")
        await super().replace_namespaced_custom_object(
            group, version, namespace, plural, name, body
        )

    async def list_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        *,
        field_selector: str | None = None,
        label_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
        watch: bool = False,
        _preload_content: bool = True,
        _request_timeout: float | None = None,
    ) -> Any:
        """List custom objects; no namespace yet is an empty list, as in Kubernetes."""
        if watch or field_selector:
            return await super().list_namespaced_custom_object(
                group,
                version,
                namespace,
                plural,
                field_selector=field_selector,
                label_selector=label_selector,
                resource_version=resource_version,
                timeout_seconds=timeout_seconds,
                watch=watch,
                _preload_content=_preload_content,
            )
        self._maybe_error("list_namespaced_custom_object", group, version, namespace)
        stored = self._objects.get(namespace, {}).get(f"{group}/{version}/{plural}", {})
        items = [
            copy.deepcopy(o)
            for o in stored.values()
            if _matches(o["metadata"].get("labels"), label_selector)
        ]
        return {"items": items}

    async def list_namespaced_ingress(
        self,
        namespace: str,
        *,
        field_selector: str | None = None,
        label_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
        watch: bool = False,
        _preload_content: bool = True,
        _request_timeout: float | None = None,
    ) -> Any:
        """List Ingresses; an empty namespace is an empty list, as in Kubernetes."""
        if namespace not in self._objects and not watch:
            self._maybe_error("list_namespaced_ingress", namespace, field_selector)
            return client.V1IngressList(items=[])
        return await super().list_namespaced_ingress(
            namespace,
            field_selector=field_selector,
            label_selector=label_selector,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            watch=watch,
            _preload_content=_preload_content,
        )

    async def delete_namespaced_ingress(
        self,
        name: str,
        namespace: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str = "Background",
        body: Any = None,
        _request_timeout: float | None = None,
    ) -> V1Status:
        """Delete an Ingress (propagation as the real client defaults it)."""
        return await super().delete_namespaced_ingress(
            name, namespace, propagation_policy=propagation_policy
        )


@contextmanager
def ingress_kubernetes() -> Iterator[IngressKubernetes]:
    """:class:`IngressKubernetes` behind ``kubernetes_asyncio``'s API classes."""
    fake = IngressKubernetes()
    names = ("CoreV1Api", "CustomObjectsApi", "NetworkingV1Api")
    patchers = [patch.object(client, name, Mock(return_value=fake)) for name in names]
    for patcher in patchers:
        patcher.start()
    try:
        yield fake
    finally:
        for patcher in reversed(patchers):
            patcher.stop()
