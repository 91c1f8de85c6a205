"""Kubernetes API calls for a lab's objects besides its pod.

The pod itself is created, watched and deleted by KubeSpawner; this module
creates (or replaces) the user's Secret, ConfigMap and NetworkPolicy before
the pod starts, creates the home PersistentVolumeClaim when it does not exist
yet, and deletes the per-lab objects when the lab stops. The home volume is
only deleted with the user.
"""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client import (
    ApiException,
    V1ConfigMap,
    V1NetworkPolicy,
    V1PersistentVolumeClaim,
    V1Secret,
)

__all__ = ["LabObjectStore"]


class LabObjectStore:
    """Creates and deletes a lab's Secret, ConfigMap, NetworkPolicy and PVC.

    Parameters
    ----------
    core
        ``CoreV1Api`` client.
    networking
        ``NetworkingV1Api`` client.
    """

    def __init__(self, core: Any, networking: Any) -> None:
        self._core = core
        self._networking = networking

    @classmethod
    def from_api_client(cls, api_client: Any = None) -> LabObjectStore:
        """A store using the ``kubernetes_asyncio`` API classes."""
        return cls(client.CoreV1Api(api_client), client.NetworkingV1Api(api_client))

    async def ensure_home(self, pvc: V1PersistentVolumeClaim) -> bool:
        """Create the home volume unless it exists; whether it was created."""
        namespace = pvc.metadata.namespace
        try:
            await self._core.read_namespaced_persistent_volume_claim(
                pvc.metadata.name, namespace
            )
        except ApiException as e:
            if e.status != 404:
                raise
        else:
            return False
        try:
            await self._core.create_namespaced_persistent_volume_claim(namespace, pvc)
        except ApiException as e:
            if e.status != 409:  # made meanwhile by another hub replica
                raise
            return False
        return True

    async def put_secret(self, secret: V1Secret) -> None:
        """Create the Secret, or replace it (a new token) if it exists."""
        namespace = secret.metadata.namespace
        try:
            await self._core.create_namespaced_secret(namespace, secret)
        except ApiException as e:
            if e.status != 409:
                raise
            await self._core.replace_namespaced_secret(
                secret.metadata.name, namespace, secret
            )

    async def put_config_map(self, config_map: V1ConfigMap) -> None:
        """Create the ConfigMap, replacing an older one."""
        namespace = config_map.metadata.namespace
        name = config_map.metadata.name
        await self._delete(self._core.delete_namespaced_config_map, name, namespace)
        await self._core.create_namespaced_config_map(namespace, config_map)

    async def put_network_policy(self, policy: V1NetworkPolicy) -> None:
        """Create the NetworkPolicy, replacing an older one."""
        namespace = policy.metadata.namespace
        name = policy.metadata.name
        await self._delete(
            self._networking.delete_namespaced_network_policy, name, namespace
        )
        await self._networking.create_namespaced_network_policy(namespace, policy)

    async def delete_lab_objects(self, name: str, namespace: str) -> None:
        """Delete the lab's Secret, ConfigMap and NetworkPolicy (if present)."""
        await self._delete(self._core.delete_namespaced_secret, name, namespace)
        await self._delete(self._core.delete_namespaced_config_map, name, namespace)
        await self._delete(
            self._networking.delete_namespaced_network_policy, name, namespace
        )

    async def delete_home(self, name: str, namespace: str) -> None:
        """Delete the user's home volume (only when the user is deleted)."""
        await self._delete(
            self._core.delete_namespaced_persistent_volume_claim, name, namespace
        )

    @staticmethod
    async def _delete(method: Any, name: str, namespace: str) -> None:
        try:
            await method(name, namespace)
        except ApiException as e:
            if e.status != 404:
                raise
