"""Kubernetes for the ServiceToken tests: Safir's mock, and ServiceTokens in it.

:func:`mock_kubernetes` patches ``kubernetes_asyncio`` with
:class:`safir.testing.kubernetes.MockKubernetesApi` and teaches it the one
JSON Patch the operator sends that the mock does not know: ``add`` of
``/status`` (which RFC 6902 makes a replacement when the member exists, and
which the API server needs for an object that has no status yet).

:class:`KubeRecorder` notes every call the operator makes, so that tests can
say that a reconcile wrote nothing, and makes chosen calls fail.
"""

from __future__ import annotations

import base64
import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes_asyncio.client import ApiException, CoreV1Event, V1Secret
from rsp_operator import GROUP, VERSION
from safir.testing.kubernetes import MockKubernetesApi, patch_kubernetes

__all__ = [
    "NAMESPACE",
    "KubeRecorder",
    "ServiceTokens",
    "mock_kubernetes",
    "secret_token",
]

NAMESPACE = "science"
PLURAL = "servicetokens"
_READS = ("read_", "get_", "list_")


class KubeRecorder:
    """Every Kubernetes API method the code under test called, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failing: dict[str, int] = {}
        """Method name -> HTTP status it fails with (fault injection)."""

    def __call__(self, method: str, *args: Any) -> None:
        self.calls.append(method)
        if method in self.failing:
            raise ApiException(status=self.failing[method], reason="injected")

    def writes(self) -> list[str]:
        """The calls that change something (events included)."""
        return [c for c in self.calls if not c.startswith(_READS)]

    def clear(self) -> None:
        """Forget the calls so far."""
        self.calls.clear()


@contextmanager
def mock_kubernetes() -> Iterator[tuple[MockKubernetesApi, KubeRecorder]]:
    """The mock Kubernetes API (patched in) and the recorder of its calls."""
    with patch_kubernetes() as mock:
        recorder = KubeRecorder()
        mock.error_callback = recorder
        original = mock.patch_namespaced_custom_object_status

        async def patch_status(
            group: str,
            version: str,
            namespace: str,
            plural: str,
            name: str,
            body: list[dict[str, Any]],
            **kwargs: Any,
        ) -> dict[str, Any]:
            ops = [
                {**op, "op": "replace"}
                if op["op"] == "add" and op["path"] == "/status"
                else op
                for op in body
            ]
            return await original(
                group, version, namespace, plural, name, ops, **kwargs
            )

        mock.patch_namespaced_custom_object_status = patch_status  # type: ignore[method-assign]
        yield mock, recorder


def secret_token(secret: V1Secret) -> str:
    """The token a Secret holds (decoded)."""
    return base64.b64decode(secret.data["token"]).decode()


class ServiceTokens:
    """ServiceTokens in the mock, created and changed as ``kubectl`` would."""

    def __init__(self, mock: MockKubernetesApi) -> None:
        self.mock = mock

    async def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Create a ServiceToken (generation 1, a fresh uid, no status)."""
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ServiceToken",
            "metadata": {
                "name": name,
                "namespace": NAMESPACE,
                "uid": str(uuid.uuid4()),
                "generation": 1,
            },
            "spec": copy.deepcopy(spec),
        }
        await self.mock.create_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, PLURAL, body
        )
        return await self.get(name)

    async def get(self, name: str) -> dict[str, Any]:
        """The ServiceToken as the API server has it now (a copy)."""
        obj = await self.mock.get_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, PLURAL, name
        )
        return copy.deepcopy(obj)

    async def set_spec(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Change the spec (the generation goes up, as the API server does)."""
        obj = await self.get(name)
        obj["spec"] = copy.deepcopy(spec)
        obj["metadata"]["generation"] += 1
        await self.mock.replace_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, PLURAL, name, obj
        )
        return await self.get(name)

    async def status(self, name: str) -> dict[str, Any]:
        """The status of the ServiceToken."""
        status: dict[str, Any] = (await self.get(name)).get("status") or {}
        return status

    async def ready(self, name: str) -> dict[str, Any]:
        """Its Ready condition."""
        conditions = (await self.status(name)).get("conditions") or []
        ready = [c for c in conditions if c["type"] == "Ready"]
        assert len(ready) == 1, conditions
        condition: dict[str, Any] = ready[0]
        return condition

    async def secret(self, name: str) -> V1Secret | None:
        """The Secret of that name, if any."""
        try:
            secret: V1Secret = await self.mock.read_namespaced_secret(name, NAMESPACE)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return secret

    async def token(self, name: str) -> str:
        """The token the ServiceToken's Secret holds; the Secret must exist."""
        secret = await self.secret(name)
        assert secret is not None, f"No Secret {name}"
        return secret_token(secret)

    async def events(self, name: str) -> list[CoreV1Event]:
        """The events about the ServiceToken, oldest first."""
        listing = await self.mock.list_namespaced_event(NAMESPACE)
        return [e for e in listing.items if e.involved_object.name == name]
