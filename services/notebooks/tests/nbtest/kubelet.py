"""The scheduler and a kubelet for the fake API server.

They react to pods in :class:`nbtest.kubeapi.FakeKubernetes` as a
one-node cluster does, with the same status and ``Event`` objects:

- a new pod is bound to the node (the scheduler's ``Scheduled`` event, a
  new-style event with ``eventTime`` and no ``lastTimestamp``), or stays
  Pending with ``FailedScheduling`` when a PersistentVolumeClaim it mounts
  does not exist;
- the kubelet refuses to start it while a ConfigMap volume or a Secret named
  by an environment variable is missing (``FailedMount``,
  ``CreateContainerConfigError``), pulls the image (``Pulling``, ``Pulled``;
  an image in :attr:`FakeKubelet.missing_images` fails with ``ErrImagePull``
  then ``ImagePullBackOff``), starts the containers (``Created``,
  ``Started``) and reports the pod Running with a ``podIP`` and ready
  containers;
- :meth:`FakeKubelet.terminate` ends a container (``Completed`` or
  ``Error``); :meth:`FakeKubelet.evict` fails the pod (phase ``Failed``,
  reason ``Evicted``), as :attr:`FakeKubelet.evict_at_start` does to every
  new pod; :attr:`FakeKubelet.unschedulable` leaves new pods Pending;
- with :attr:`FakeKubelet.crash_exit_code` the lab's process exits as it
  starts, again and again (``CrashLoopBackOff``, restartPolicy OnFailure);
- a pod being deleted is stopped (``Killing``): its containers end when the
  lab exits (:attr:`FakeKubelet.shutdown_seconds`) or when the grace period
  is over (exit 137), then the pod object is removed; unless the node is
  lost (:attr:`FakeKubelet.node_lost`): then it stays Terminating.

With :attr:`FakeKubelet.serve_labs`, a running pod's address is a loopback
one (``127.0.0.N``) where an HTTP server answers on the lab's port, so that
the hub finds the lab up. Delays are short and configurable so that tests
run in a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any

from aiohttp import web

from .kubeapi import FakeKubernetes
from .kubeproto import micro_time, rfc3339

__all__ = ["FakeKubelet"]

NODE = "node-1"
HOST_IP = "10.128.0.2"


class FakeKubelet:
    """Runs the pods of one namespace on one node.

    Parameters
    ----------
    api
        The fake API server whose pods this kubelet runs.
    step_seconds
        Time between two steps of a pod's start (schedule, pull, start).
    """

    def __init__(self, api: FakeKubernetes, step_seconds: float = 0.05) -> None:
        self.api = api
        self.step_seconds = step_seconds
        self.shutdown_seconds = 0.1
        self.missing_images: set[str] = set()
        self.unschedulable = False
        self.evict_at_start: str | None = None
        self.crash_exit_code: int | None = None
        self.node_lost = False
        self.serve_labs = False
        self._labs: dict[str, web.AppRunner] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping: set[tuple[str, str, str]] = set()
        self._next_ip = 10
        api.add_hook(self._on_change)

    # What tests make happen.

    async def terminate(self, namespace: str, name: str, exit_code: int) -> None:
        """The lab's process exits (restartPolicy OnFailure: 0 ends the pod)."""
        pod = self.api.read("pods", namespace, name)
        now = rfc3339()
        status = pod["status"]
        for container in status["containerStatuses"]:
            container["ready"] = False
            container["state"] = {
                "terminated": {
                    "exitCode": exit_code,
                    "reason": "Completed" if exit_code == 0 else "Error",
                    "startedAt": container["state"]["running"]["startedAt"],
                    "finishedAt": now,
                    "containerID": container["containerID"],
                }
            }
        status["phase"] = "Succeeded" if exit_code == 0 else "Running"
        status["conditions"] = _conditions(pod, ready=False)
        await self.api.update_status("pods", namespace, name, status)

    async def evict(self, namespace: str, name: str, message: str) -> None:
        """The node evicts the pod (phase Failed, as under memory pressure)."""
        pod = self.api.read("pods", namespace, name)
        await self._event(pod, "Warning", "Evicted", message)
        status = pod["status"]
        status.update(phase="Failed", reason="Evicted", message=message)
        for container in status.get("containerStatuses", []):
            container["ready"] = False
            container["state"] = {
                "terminated": {
                    "exitCode": 137,
                    "reason": "Error",
                    "finishedAt": rfc3339(),
                    "containerID": container.get("containerID", ""),
                }
            }
        status["conditions"] = _conditions(pod, ready=False)
        await self.api.update_status("pods", namespace, name, status)

    async def close(self) -> None:
        """Stop everything still running."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for uid in list(self._labs):
            await self._stop_lab(uid)

    # Reacting to the API server.

    def _on_change(self, event_type: str, obj: dict[str, Any]) -> None:
        if obj["kind"] != "Pod":
            return
        if event_type == "DELETED":
            self._spawn(self._stop_lab(obj["metadata"]["uid"]))
            return
        metadata = obj["metadata"]
        if event_type == "ADDED":
            self._spawn(self._run(obj))
        elif "deletionTimestamp" in metadata and not self.node_lost:
            key = (metadata["namespace"], metadata["name"], metadata["uid"])
            if key not in self._stopping:
                self._stopping.add(key)
                self._spawn(self._stop(obj))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _current(self, pod: dict[str, Any]) -> dict[str, Any] | None:
        metadata = pod["metadata"]
        now = self.api.get("pods", metadata["namespace"], metadata["name"])
        if now is None or now["metadata"]["uid"] != metadata["uid"]:
            return None
        if "deletionTimestamp" in now["metadata"]:
            return None
        return now

    async def _step(self, pod: dict[str, Any]) -> dict[str, Any] | None:
        await asyncio.sleep(self.step_seconds)
        return self._current(pod)

    async def _run(self, pod: dict[str, Any]) -> None:
        current = await self._step(pod)
        if current is None:
            return
        if not await self._schedule(current):
            return
        current = await self._step(pod)
        if current is None or not await self._volumes_ready(current):
            return
        if self.evict_at_start is not None:
            metadata = current["metadata"]
            await self.evict(
                metadata["namespace"], metadata["name"], self.evict_at_start
            )
            return
        container = current["spec"]["containers"][0]
        image = container["image"]
        await self._event(current, "Normal", "Pulling", f'Pulling image "{image}"')
        current = await self._step(pod)
        if current is None:
            return
        if image in self.missing_images:
            await self._pull_failed(current, image)
            return
        await self._event(
            current,
            "Normal",
            "Pulled",
            f'Successfully pulled image "{image}" in 1.2s (1.2s including waiting)',
        )
        if self.crash_exit_code is not None:
            await self._crash(current, self.crash_exit_code)
            return
        await self._start(current)

    async def _schedule(self, pod: dict[str, Any]) -> bool:
        namespace = pod["metadata"]["namespace"]
        for volume in pod["spec"].get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if (
                claim
                and self.api.get("persistentvolumeclaims", namespace, claim) is None
            ):
                await self._scheduler_event(
                    pod,
                    "Warning",
                    "FailedScheduling",
                    f'0/1 nodes are available: persistentvolumeclaim "{claim}" not'
                    " found. preemption: 0/1 nodes are available: 1 Preemption is"
                    " not helpful for scheduling.",
                )
                return False
        if self.unschedulable:
            await self._scheduler_event(
                pod,
                "Warning",
                "FailedScheduling",
                "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1"
                " nodes are available: 1 No preemption victims found for incoming"
                " pod.",
            )
            return False
        pod["spec"]["nodeName"] = NODE
        await self.api.update_object(pod)
        await self._scheduler_event(
            pod,
            "Normal",
            "Scheduled",
            f"Successfully assigned {namespace}/{pod['metadata']['name']} to {NODE}",
        )
        status = pod["status"]
        status.update(hostIP=HOST_IP, hostIPs=[{"ip": HOST_IP}], startTime=rfc3339())
        status["conditions"] = _conditions(pod, ready=False)
        status["containerStatuses"] = [
            _waiting(c, "ContainerCreating") for c in pod["spec"]["containers"]
        ]
        await self.api.update_status("pods", namespace, pod["metadata"]["name"], status)
        return True

    async def _volumes_ready(self, pod: dict[str, Any]) -> bool:
        namespace = pod["metadata"]["namespace"]
        for volume in pod["spec"].get("volumes") or []:
            name = (volume.get("configMap") or {}).get("name")
            if name and self.api.get("configmaps", namespace, name) is None:
                await self._event(
                    pod,
                    "Warning",
                    "FailedMount",
                    f'MountVolume.SetUp failed for volume "{volume["name"]}" :'
                    f' configmap "{name}" not found',
                )
                return False
        for container in pod["spec"]["containers"]:
            for variable in container.get("env") or []:
                ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
                if not ref:
                    continue
                secret = self.api.get("secrets", namespace, ref["name"])
                if secret is None or ref["key"] not in (secret.get("data") or {}):
                    message = (
                        f'secret "{ref["name"]}" not found'
                        if secret is None
                        else f"couldn't find key {ref['key']} in Secret"
                        f" {namespace}/{ref['name']}"
                    )
                    await self._event(pod, "Warning", "Failed", f"Error: {message}")
                    await self._set_waiting(pod, "CreateContainerConfigError", message)
                    return False
        return True

    async def _pull_failed(self, pod: dict[str, Any], image: str) -> None:
        reason = (
            f'failed to pull and unpack image "{image}": failed to resolve reference'
            f' "{image}": {image}: not found'
        )
        message = f'Failed to pull image "{image}": {reason}'
        await self._event(pod, "Warning", "Failed", message)
        await self._event(pod, "Warning", "Failed", "Error: ErrImagePull")
        await self._set_waiting(pod, "ErrImagePull", reason)
        current = await self._step(pod)
        if current is None:
            return
        backoff = f'Back-off pulling image "{image}"'
        await self._event(current, "Normal", "BackOff", backoff)
        await self._event(current, "Warning", "Failed", "Error: ImagePullBackOff")
        await self._set_waiting(current, "ImagePullBackOff", backoff)

    async def _start(self, pod: dict[str, Any]) -> None:
        await self._event(pod, "Normal", "Created", "Created container: notebook")
        await self._event(pod, "Normal", "Started", "Started container notebook")
        current = self._current(pod)
        if current is None:
            return
        now = rfc3339()
        status = current["status"]
        self._assign_ip(status)
        status["containerStatuses"] = [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": f"{c['image'].split(':')[0]}@sha256:{'ab' * 32}",
                "containerID": f"containerd://{secrets.token_hex(32)}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
                "lastState": {},
            }
            for c in current["spec"]["containers"]
        ]
        status["conditions"] = _conditions(current, ready=True)
        metadata = current["metadata"]
        if self.serve_labs:
            await self._serve_lab(current, status["podIP"])
        await self.api.update_status(
            "pods", metadata["namespace"], metadata["name"], status
        )

    async def _crash(self, pod: dict[str, Any], exit_code: int) -> None:
        await self._event(pod, "Normal", "Created", "Created container: notebook")
        await self._event(pod, "Normal", "Started", "Started container notebook")
        message = (
            "back-off 10s restarting failed container=notebook"
            f" pod={pod['metadata']['name']}_{pod['metadata']['namespace']}"
            f"({pod['metadata']['uid']})"
        )
        await self._event(pod, "Warning", "BackOff", message.capitalize())
        now = rfc3339()
        status = pod["status"]
        self._assign_ip(status)
        status["containerStatuses"] = [
            {
                **_waiting(c, "CrashLoopBackOff", message),
                "restartCount": 1,
                "lastState": {
                    "terminated": {
                        "exitCode": exit_code,
                        "reason": "Error",
                        "startedAt": now,
                        "finishedAt": now,
                    }
                },
            }
            for c in pod["spec"]["containers"]
        ]
        metadata = pod["metadata"]
        await self.api.update_status(
            "pods", metadata["namespace"], metadata["name"], status
        )

    def _assign_ip(self, status: dict[str, Any]) -> None:
        """The pod's sandbox is up: phase Running, with an address."""
        self._next_ip += 1
        subnet = "127.0.0" if self.serve_labs else "10.244.0"
        ip = f"{subnet}.{self._next_ip}"
        status.update(phase="Running", podIP=ip, podIPs=[{"ip": ip}])

    async def _serve_lab(self, pod: dict[str, Any], ip: str) -> None:
        """Answer HTTP on the pod's address and lab port, as the lab does."""

        async def lab(request: web.Request) -> web.Response:
            return web.json_response({"lab": pod["metadata"]["name"]})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", lab)
        runner = web.AppRunner(app, shutdown_timeout=1)
        await runner.setup()
        ports = pod["spec"]["containers"][0].get("ports") or []
        port = next(p["containerPort"] for p in ports)
        await web.TCPSite(runner, ip, port).start()
        self._labs[pod["metadata"]["uid"]] = runner

    async def _stop_lab(self, uid: str) -> None:
        runner = self._labs.pop(uid, None)
        if runner is not None:
            await runner.cleanup()

    async def _stop(self, pod: dict[str, Any]) -> None:
        metadata = pod["metadata"]
        namespace, name = metadata["namespace"], metadata["name"]
        grace = float(metadata["deletionGracePeriodSeconds"])
        if pod["status"].get("phase") == "Running":
            await self._event(pod, "Normal", "Killing", "Stopping container notebook")
        started = time.monotonic()
        exit_code = 0 if self.shutdown_seconds <= grace else 137
        await asyncio.sleep(min(self.shutdown_seconds, grace))
        current = self.api.get("pods", namespace, name)
        if current is None or current["metadata"]["uid"] != metadata["uid"]:
            return
        status = current["status"]
        for container in status.get("containerStatuses", []):
            running = container["state"].get("running")
            if running is None:
                continue
            container["ready"] = False
            container["state"] = {
                "terminated": {
                    "exitCode": exit_code,
                    "reason": "Completed" if exit_code == 0 else "Error",
                    "startedAt": running["startedAt"],
                    "finishedAt": rfc3339(),
                    "containerID": container["containerID"],
                }
            }
        status["conditions"] = _conditions(current, ready=False)
        await self.api.update_status("pods", namespace, name, status)
        await asyncio.sleep(max(0.0, 0.02 - (time.monotonic() - started)))
        await self._stop_lab(metadata["uid"])
        # The kubelet confirms with a deletion of grace period 0.
        await self.api.remove("pods", namespace, name)

    # Objects.

    async def _set_waiting(
        self, pod: dict[str, Any], reason: str, message: str
    ) -> None:
        status = pod["status"]
        status["containerStatuses"] = [
            _waiting(c, reason, message) for c in pod["spec"]["containers"]
        ]
        metadata = pod["metadata"]
        await self.api.update_status(
            "pods", metadata["namespace"], metadata["name"], status
        )

    async def _event(
        self, pod: dict[str, Any], kind: str, reason: str, message: str
    ) -> None:
        now = rfc3339()
        await self._post_event(
            pod,
            {
                "reason": reason,
                "message": message,
                "source": {"component": "kubelet", "host": NODE},
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
                "type": kind,
                "eventTime": None,
                "reportingComponent": "kubelet",
                "reportingInstance": NODE,
            },
            field_path="spec.containers{notebook}" if reason != "Evicted" else None,
        )

    async def _scheduler_event(
        self, pod: dict[str, Any], kind: str, reason: str, message: str
    ) -> None:
        await self._post_event(
            pod,
            {
                "reason": reason,
                "message": message,
                "source": {},
                "firstTimestamp": None,
                "lastTimestamp": None,
                "type": kind,
                "eventTime": micro_time(),
                "action": "Binding" if reason == "Scheduled" else "Scheduling",
                "reportingComponent": "default-scheduler",
                "reportingInstance": "default-scheduler-control-plane",
            },
            field_path=None,
        )

    async def _post_event(
        self, pod: dict[str, Any], fields: dict[str, Any], field_path: str | None
    ) -> None:
        metadata = pod["metadata"]
        involved = {
            "kind": "Pod",
            "namespace": metadata["namespace"],
            "name": metadata["name"],
            "uid": metadata["uid"],
            "apiVersion": "v1",
            "resourceVersion": metadata["resourceVersion"],
        }
        if field_path:
            involved["fieldPath"] = field_path
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{metadata['name']}.{secrets.token_hex(8)}",
                "namespace": metadata["namespace"],
            },
            "involvedObject": involved,
            **fields,
        }
        await self.api.create("events", metadata["namespace"], event)


def _waiting(
    container: dict[str, Any], reason: str, message: str | None = None
) -> dict[str, Any]:
    waiting = {"reason": reason}
    if message:
        waiting["message"] = message
    return {
        "name": container["name"],
        "image": container["image"],
        "imageID": "",
        "ready": False,
        "started": False,
        "restartCount": 0,
        "state": {"waiting": waiting},
        "lastState": {},
    }


def _conditions(pod: dict[str, Any], *, ready: bool) -> list[dict[str, Any]]:
    now = rfc3339()
    state = "True" if ready else "False"
    scheduled = "True" if pod["spec"].get("nodeName") else "False"
    conditions: list[dict[str, Any]] = [
        {"type": "PodReadyToStartContainers", "status": scheduled},
        {"type": "Initialized", "status": "True"},
        {"type": "Ready", "status": state},
        {"type": "ContainersReady", "status": state},
        {"type": "PodScheduled", "status": scheduled},
    ]
    for condition in conditions:
        condition["lastProbeTime"] = None
        condition["lastTransitionTime"] = now
    return conditions
