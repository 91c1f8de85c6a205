"""The Kubernetes lab spawner: KubeSpawner with the platform's objects.

KubeSpawner creates, watches and deletes the pod; this class supplies the
pod from the pure builders (:mod:`rsp_notebooks.builders`) and, before the
pod, the user's home volume, token Secret, discovery ConfigMap and
NetworkPolicy (:mod:`rsp_notebooks.labobjects`). Stopping a lab deletes the
per-lab objects and revokes its token; deleting the user deletes the home.
"""

from __future__ import annotations

import asyncio
import contextlib
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator
from typing import Any

from kubernetes_asyncio.client import ApiException
from kubespawner import KubeSpawner
from traitlets import Dict, Float, Unicode, default

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
from .podstatus import lab_pod_failure, last_pod_message
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

    pod_check_interval = Float(
        0.5,
        config=True,
        help="Seconds between two looks at a starting pod for a failure.",
    )

    _workload: LabWorkload | None = None
    _creating_pod: bool = False
    _store: LabObjectStore | None = None

    @default("storage_pvc_ensure")
    def _default_storage_pvc_ensure(self) -> bool:
        return False  # the home volume is ours (stable name), made in _start

    @default("delete_pvc")
    def _default_delete_pvc(self) -> bool:
        return True  # a deleted user's home goes with them

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._use_lab_names()

    def _use_lab_names(self) -> None:
        """Our stable names, where KubeSpawner sets its templates' names."""
        names = LabObjectNames(self.user.name)
        self.pod_name = names.pod
        self.pvc_name = names.home
        self.dns_name = self.dns_name_template.format(
            namespace=self.namespace, name=self.pod_name
        )

    def clear_state(self) -> None:
        """Forget a stopped lab (the hub does so before every start)."""
        super().clear_state()
        self._use_lab_names()

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore after a hub restart; the names never change, whatever saved."""
        super().load_state(state)
        self._use_lab_names()

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
            try:
                await self._prepare()
            finally:
                self.end_preparation()
            self._creating_pod = True
            return await self._start_pod()
        except ApiException as e:
            # The user sees the refusal; the log has the API server's Status.
            self.log.exception(
                "Kubernetes refused a call for the lab of %s", self.user.name
            )
            raise LabSpawnError(
                f"Kubernetes refused a request for your lab ({e.status} {e.reason});"
                " ask an administrator to look at the hub's log"
            ) from e
        finally:
            self._creating_pod = False
            self._workload = None

    async def _start_pod(self) -> Any:
        """KubeSpawner's start, ended early by a pod that cannot run.

        Raises
        ------
        LabSpawnError
            If the pod fails (image not pulled, evicted, crashing) or does
            not run within ``start_timeout``, with what Kubernetes said.
        """
        reflector = await self._start_watching_pods()
        key = f"{self.namespace}/{self.pod_name}"
        stale = (reflector.pods.get(key) or {}).get("metadata", {}).get("uid")
        start = asyncio.ensure_future(super()._start())
        failure = asyncio.ensure_future(self._pod_failure(key, stale))
        try:
            await asyncio.wait({start, failure}, return_when=FIRST_COMPLETED)
        finally:
            for future in (start, failure):
                if not future.done():
                    future.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await future
        if not start.done() or start.cancelled():
            reason = failure.result()
            self.log.warning("Lab of %s failed to start: %s", self.user.name, reason)
            raise LabSpawnError(reason)
        try:
            return start.result()
        except TimeoutError as e:
            said = last_pod_message(self.events)
            raise LabSpawnError(
                f"Your lab did not start within {self.start_timeout} seconds"
                + (f"; Kubernetes said: {said}" if said else f" ({e})")
            ) from e

    async def _pod_failure(self, key: str, stale_uid: str | None) -> str:
        """Wait until the new pod shows it cannot run; say why."""
        while True:
            await asyncio.sleep(self.pod_check_interval)
            pod = self.pod_reflector.pods.get(key)
            if pod is None or pod["metadata"].get("uid") == stale_uid:
                continue
            reason = lab_pod_failure(pod)
            if reason is not None:
                return reason

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
        """Stop the pod, delete the lab's objects and revoke its token.

        KubeSpawner also stops to clear a leftover pod of the same name
        while it starts a new one: then only that pod goes, not the new
        lab's Secret, ConfigMap, NetworkPolicy and token. A pod that does
        not go away in time (its node is lost) still loses its token.
        """
        try:
            await super().stop(now=now)
        finally:
            if not self._creating_pod:
                await self.store.delete_lab_objects(
                    LabObjectNames(self.user.name).lab, self.namespace
                )
                await self.revoke_lab_token()

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        """Our preparation steps, then the pod's events from KubeSpawner.

        KubeSpawner's own percentages start again from 0; they are fitted
        between our last step and 100 so that the bar only moves forward.
        """
        future: asyncio.Future[Any] | None = getattr(self, "_start_future", None)
        floor = 0
        async for event in self.lab_progress(future):
            floor = max(floor, int(event.get("progress", 0)))
            yield event
        async for pod_event in super().progress():
            if "progress" in pod_event:
                share = min(float(pod_event["progress"]), 90.0) / 90.0
                pod_event["progress"] = floor + int(share * (95 - floor))
            yield pod_event
        # A failure's message is the hub's own last event ("Spawn failed: ...").
        if (
            future is not None
            and future.done()
            and not future.cancelled()
            and future.exception() is None
        ):
            yield {"progress": 100, "message": "Your lab is ready"}
