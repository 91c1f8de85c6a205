"""PlatformIngress resources in the fake Kubernetes, reconciled by the handler.

:class:`IngressHarness` keeps PlatformIngress objects in
:class:`~optest.ingress_kube.IngressKubernetes` as the API server would
(uid, generation bumped on spec changes, status subresource), runs the
operator's kopf handlers on them (the change handler, or the resync timer
on a clock the test moves) with the operator's own factory, and writes the
handler's status patch back, as kopf does.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kopf
import yaml
from kubernetes_asyncio import client
from rsp_operator import GROUP, VERSION
from rsp_operator.config import OperatorSettings
from rsp_operator.handlers.platformingress import (
    reconcile_platform_ingress,
    resync_platform_ingress,
)
from rsp_operator.ingress.factory import IngressFactory
from rsp_operator.ingress.model import PLURAL, ObjectRef
from rsp_operator.ingress.resync import ResyncSchedule
from rsp_operator.ingress.storage import KINDS

from .ingress_kube import IngressKubernetes

__all__ = [
    "DATA_DIR",
    "NAMESPACE",
    "IngressHarness",
    "load_resource",
    "operator_settings",
]

NAMESPACE = "science"
DATA_DIR = Path(__file__).parent.parent / "data" / "ingress"


def load_resource(name: str) -> dict[str, Any]:
    """A PlatformIngress from ``data/ingress/<name>.yaml``, with a fixed uid."""
    body: dict[str, Any] = yaml.safe_load((DATA_DIR / f"{name}.yaml").read_text())
    metadata = body.setdefault("metadata", {})
    metadata.setdefault("namespace", NAMESPACE)
    metadata.setdefault("uid", f"00000000-0000-4000-8000-{len(name):012d}")
    metadata.setdefault("generation", 1)
    return body


def operator_settings(**overrides: Any) -> OperatorSettings:
    """The operator's settings for an environment like data-dev.lsst.cloud."""
    values: dict[str, Any] = {
        "host": "data-dev.lsst.cloud",
        "gateway_url": "http://gateway.gateway.svc.cluster.local:8080",
        "tls_secret_name": "platform-tls",
        **overrides,
    }
    return OperatorSettings(**values)


class IngressHarness:
    """PlatformIngress objects in the fake and the operator's handler on them."""

    def __init__(self, kube: IngressKubernetes, settings: OperatorSettings) -> None:
        self.kube = kube
        self.settings = settings
        self.api_client = client.ApiClient()
        self.now = 0.0
        """The resync schedule's clock (seconds); tests move it."""
        self.schedule = ResyncSchedule(settings.resync_seconds, lambda: self.now)

    async def close(self) -> None:
        """Release the API client."""
        await self.api_client.close()

    async def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create the resource, or replace its spec (new generation) if it exists."""
        body = copy.deepcopy(body)
        body.setdefault("apiVersion", f"{GROUP}/{VERSION}")
        body.setdefault("kind", "PlatformIngress")
        metadata = body["metadata"]
        namespace = metadata.setdefault("namespace", NAMESPACE)
        try:
            current = await self.kube.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, metadata["name"]
            )
        except client.ApiException:
            metadata.setdefault("uid", str(uuid.uuid4()))
            metadata["generation"] = 1
            await self.kube.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, body
            )
            return body
        updated = copy.deepcopy(current)
        if updated.get("spec") != body.get("spec"):
            updated["metadata"]["generation"] += 1
        updated["spec"] = body.get("spec")
        await self.kube.replace_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, metadata["name"], updated
        )
        return updated

    async def get(self, name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
        """The resource as stored."""
        body: dict[str, Any] = await self.kube.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name
        )
        return copy.deepcopy(body)

    async def edit(
        self,
        kind: str,
        name: str,
        change: Callable[[dict[str, Any]], None],
        namespace: str = NAMESPACE,
    ) -> None:
        """Change an object made by the operator as ``kubectl edit`` would.

        ``change`` edits the object (a dictionary, as in YAML) in place; the
        calls made are then forgotten, so that a test counts only the
        operator's.
        """
        (api_version,) = [k.api_version for k in KINDS if k.kind == kind]
        ref = ObjectRef(api_version, kind, name)
        store = IngressFactory(self.settings, self.api_client).create_store()
        obj = await store.read(ref, namespace)
        assert obj is not None, f"no {kind}/{name}"
        change(obj)
        await store.replace(obj, obj["metadata"]["resourceVersion"])
        self.kube.clear_calls()

    async def reconcile(self, name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
        """Run the change handler once as kopf would; return its status patch.

        The handler's exception (kopf.PermanentError, TemporaryError) is
        raised after the patch is applied, as kopf applies it either way.
        """
        return await self._run(reconcile_platform_ingress, name, namespace)

    async def resync(
        self, name: str, namespace: str = NAMESPACE, *, wait: bool = True
    ) -> dict[str, Any]:
        """Run the resync timer once; return its status patch.

        With ``wait``, the clock first moves on by ``resync_seconds`` (the
        resync is due); without, the timer fires as it is.
        """
        if wait:
            self.now += self.settings.resync_seconds
        return await self._run(resync_platform_ingress, name, namespace)

    async def _run(self, handler: Any, name: str, namespace: str) -> dict[str, Any]:
        body = await self.get(name, namespace)
        patch = kopf.Patch()
        memo = kopf.Memo(
            ingress_factory=IngressFactory(self.settings, self.api_client),
            ingress_resync=self.schedule,
        )
        error: Exception | None = None
        try:
            await handler(body=body, patch=patch, memo=memo)
        except (kopf.PermanentError, kopf.TemporaryError) as e:
            error = e
        status_patch: dict[str, Any] = dict(patch.get("status") or {})
        if status_patch:
            status = {**(body.get("status") or {}), **status_patch}
            await self.kube.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                [{"op": "replace", "path": "/status", "value": status}],
            )
        if error is not None:
            raise error
        return status_patch
