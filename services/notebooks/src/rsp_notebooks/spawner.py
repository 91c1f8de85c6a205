"""The Kubernetes lab spawner: KubeSpawner with the platform's objects.

KubeSpawner creates, watches and deletes the pod; this class supplies the
pod from the pure builders (:mod:`rsp_notebooks.builders`) and, before the
pod, the user's home volume, token Secret, discovery ConfigMap and
NetworkPolicy (:mod:`rsp_notebooks.labobjects`). Stopping a lab deletes the
per-lab objects and revokes its token; deleting the user deletes the home.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from kubespawner import KubeSpawner
from traitlets import Dict, Unicode, default

from .builders import (
    DISCOVERY_DIR,
    LabObjectNames,
    LabUser,
    LabWorkload,
    build_config_map,
    build_network_policy,
    build_pod,
    build_pvc,
    build_secret,
)
from .labenv import DISCOVERY_FILE_NAME
from .labobjects import LabObjectStore
from .spawning import LabSpawnerMixin, LabSpawnError, LabToken

__all__ = ["LabSpawner"]


class LabSpawner(LabSpawnerMixin, KubeSpawner):  # type: ignore[misc]
    """Spawns a user's lab as a pod, with the options form of the platform."""

    home_size = Unicode(
        "10Gi", config=True, help="Size of a new home volume (PVC request)."
    )
    home_storage_class = Unicode(
        "", config=True, help="StorageClass of home volumes (empty: the default)."
    )
    hub_pod_labels = Dict(
        default_value={"app.kubernetes.io/component": "hub"},
        config=True,
        help="Labels of the hub's pods (a lab's NetworkPolicy admits them).",
    )
    proxy_pod_labels = Dict(
        default_value={"app.kubernetes.io/component": "proxy"},
        config=True,
        help="Labels of the proxy's pods (a lab's NetworkPolicy admits them).",
    )

    _workload: LabWorkload | None = None
    _store: LabObjectStore | None = None

    @default("storage_pvc_ensure")
    def _default_storage_pvc_ensure(self) -> bool:
        return False  # the home volume is ours (stable name), made in _start

    @default("delete_pvc")
    def _default_delete_pvc(self) -> bool:
        return True  # a deleted user's home goes with them

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # KubeSpawner sets these from its templates; ours are stable names.
        names = LabObjectNames(self.user.name)
        self.pod_name = names.pod
        self.pvc_name = names.home

    @default("cmd")
    def _default_cmd(self) -> list[str]:
        return ["jupyterhub-singleuser"]

    @default("services_enabled")
    def _default_services_enabled(self) -> bool:
        return False

    @property
    def store(self) -> LabObjectStore:
        """API calls for the lab's objects."""
        if self._store is None:
            self._store = LabObjectStore(self.api, self._networking_api())
        return self._store

    @store.setter
    def store(self, store: LabObjectStore) -> None:
        self._store = store

    def _networking_api(self) -> Any:
        from kubespawner.clients import shared_client  # noqa: PLC0415 (needs a loop)

        return shared_client("NetworkingV1Api")

    async def load_user_options(self) -> None:
        """Check the options (KubeSpawner's profiles are not used)."""
        self.lab_options()

    def lab_workload(self, token: LabToken) -> LabWorkload:
        """Everything the lab's objects are built from, for this spawn.

        Raises
        ------
        LabSpawnError
            If the options are not offered or the user has no uid/gid.
        """
        options = self.lab_options()
        if token.uid is None or token.gid is None:
            raise LabSpawnError(
                "Your account has no numeric user and group id; ask an administrator"
            )
        try:
            user = LabUser(
                username=self.user.name,
                uid=token.uid,
                gid=token.gid,
                groups=token.groups,
            )
        except ValueError as e:
            raise LabSpawnError(f"A lab cannot run for you: {e}") from e
        environment = self.lab_env(
            options, token, f"{DISCOVERY_DIR}/{DISCOVERY_FILE_NAME}"
        )
        return LabWorkload(
            user=user,
            options=options,
            environment=environment,
            namespace=self.namespace,
            command=[*(self.cmd or []), *self.get_args()],
            hub_environment=KubeSpawner.get_env(self),
            labels=self._build_pod_labels(self._expand_all(self.extra_labels)),
            annotations=self._build_common_annotations(
                self._expand_all(self.extra_annotations)
            ),
            home_size=self.home_size,
            storage_class=self.home_storage_class or None,
            hub_selector=self.hub_pod_labels,
            proxy_selector=self.proxy_pod_labels,
            image_pull_policy=self.image_pull_policy or "IfNotPresent",
            node_selector=self.node_selector,
            max_age=self.max_lab_age,
        )

    async def get_pod_manifest(self) -> Any:
        """The lab's pod, from the pure builder."""
        if self._workload is None:
            self._workload = self.lab_workload(self.lab_token())
        return build_pod(self._workload)

    async def _start(self) -> Any:
        self.reset_progress()
        try:
            await self._prepare()
        finally:
            self.end_preparation()
        try:
            return await super()._start()
        finally:
            self._workload = None

    async def _prepare(self) -> None:
        """Check the spawn and create the lab's objects besides the pod."""
        self.report(5, "Checking your image, size and token")
        token = self.lab_token()
        workload = self.lab_workload(token)
        self.report(15, "Fetching service discovery for the lab")
        discovery = await self.fetch_discovery()
        self.report(25, "Preparing your home volume, token and network policy")
        names = workload.names
        if await self.store.ensure_home(build_pvc(workload)):
            self.report(30, f"Created your home volume {names.home}")
        await self.store.put_secret(build_secret(workload))
        await self.store.put_config_map(build_config_map(workload, discovery))
        await self.store.put_network_policy(build_network_policy(workload))
        self._workload = workload
        options = workload.options
        self.report(
            40,
            f"Starting lab {options.image.display_name} ({options.size.description})",
        )

    async def stop(self, now: bool = False) -> None:
        """Stop the pod, delete the lab's objects and revoke its token."""
        await super().stop(now=now)
        await self.store.delete_lab_objects(
            LabObjectNames(self.user.name).lab, self.namespace
        )
        await self.revoke_lab_token()

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        """Our preparation steps, then the pod's events from KubeSpawner."""
        future: asyncio.Future[Any] | None = getattr(self, "_start_future", None)
        async for event in self.lab_progress(future):
            yield event
        async for event in super().progress():
            yield event
        if future is not None and future.done() and future.exception() is None:
            yield {"progress": 100, "message": "Your lab is ready"}
